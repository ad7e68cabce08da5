"""What a wheel of helpgen carries: every file the package reads at run time.

An editable install reads the source tree, so a file missing from ``package-data`` goes
unnoticed until someone installs a wheel (their site then lacks the theme's pages).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "helpgen"


def test_every_data_file_of_the_package_is_in_package_data():
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = settings["tool"]["setuptools"]["package-data"]["helpgen"]
    shipped = {path for pattern in patterns for path in PACKAGE.glob(pattern)}
    data = {path for path in PACKAGE.rglob("*")
            if path.is_file() and path.suffix not in {".py", ".pyc"}
            and "__pycache__" not in path.parts}
    missing = sorted(str(path.relative_to(PACKAGE)) for path in data - shipped)
    assert not missing, f"add these to [tool.setuptools.package-data] in pyproject.toml: {missing}"
