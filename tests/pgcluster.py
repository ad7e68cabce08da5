"""A throwaway PostgreSQL cluster for the test session (Debian's ``postgresql`` package).

:class:`PgCluster` runs ``initdb`` and ``pg_ctl`` from ``/usr/lib/postgresql/<version>/bin``
in a fresh folder under the system temp dir, listening on a free port of 127.0.0.1 only
(its unix socket sits in the same folder). ``initdb`` refuses to run as root, so as root
the cluster belongs to an unprivileged system user (``postgres`` when the package made
it, else ``nobody``) and the commands run through ``runuser -u``. Authentication: trust
for the ``helpgen`` superuser on 127.0.0.1, and SCRAM passwords for the role
:data:`PASSWORD_ROLE` (to test that libpq's ``PGPASSWORD`` is used). :meth:`stop` kills
the server and removes the folder.

Anything that keeps the cluster from starting raises :class:`PgClusterError` with the
server log: tests that need PostgreSQL error loudly, they are never skipped.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "helpgen"
PASSWORD_ROLE = "helpgen_pw"
PASSWORD = "s3cret-test-only"


class PgClusterError(RuntimeError):
    pass


def pg_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has ``initdb``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    if not found:
        raise PgClusterError("PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb "
                             "(apt-get install -y postgresql; scripts/test.sh does it)")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgCluster:
    """One running cluster; :meth:`start` it, :meth:`url` per database, :meth:`stop`."""

    bindir: Path = field(default_factory=pg_bindir)
    root: Path | None = None
    port: int = 0
    #: False: fsync and full-page writes off (a throwaway cluster); True: PostgreSQL's
    #: durable defaults (benchmarks that compare with SQLite's durable commits).
    durable: bool = False
    _owner: str | None = None
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self._owner:
            cmd = ["runuser", "-u", self._owner, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "LC_ALL": "C"})
        if check and proc.returncode:
            raise PgClusterError(f"{' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}\n{self.log_text()}")
        return proc

    def log_text(self) -> str:
        log = self.root / "server.log" if self.root else None
        return log.read_text(encoding="utf-8", errors="replace") if log and log.exists() else ""

    def start(self) -> PgCluster:
        self.root = Path(tempfile.mkdtemp(prefix="helpgen-pg-"))
        if os.geteuid() == 0:
            self._owner = next((u for u in ("postgres", "nobody") if _user_exists(u)), None)
            if self._owner is None:
                raise PgClusterError("running as root and neither the 'postgres' nor the "
                                     "'nobody' user exists to own the test cluster")
            entry = pwd.getpwnam(self._owner)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        os.chmod(self.root, 0o700)
        data = self.root / "data"
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", SUPERUSER,
                  "-E", "UTF8", "--locale=C", "--no-sync")
        hba = (f"local all all trust\n"
               f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
               f"host all all 127.0.0.1/32 trust\n")
        self._run("sh", "-c", f"printf '%s' '{hba}' > '{data}/pg_hba.conf'")
        for attempt in range(3):
            self.port = free_port()
            proc = self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l",
                             str(self.root / "server.log"), "-o", self._options(), "-w",
                             "-t", "60", "start", check=False)
            if proc.returncode == 0:
                break
            if attempt == 2:
                self.stop()
                raise PgClusterError(f"pg_ctl start failed:\n{proc.stdout}\n{proc.stderr}\n"
                                     f"{self.log_text()}")
        self.admin(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'")
        return self

    def url(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def admin(self, *statements: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def new_database(self, prefix: str = "t") -> str:
        """A fresh empty database; returns its URL (the ``helpgen`` superuser, no password)."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE template0",
                   f"GRANT ALL ON DATABASE {name} TO {PASSWORD_ROLE}",
                   f"ALTER DATABASE {name} OWNER TO {PASSWORD_ROLE}")
        return self.url(name)

    def restart(self) -> None:
        """Stop the server and start it again on the same port (tests of outages)."""
        self.pause()
        self.resume()

    def pause(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected); data is kept."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast",
                  "-w", "stop")

    def _options(self) -> str:
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                "-c max_connections=200")
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        return opts

    def resume(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-l",
                  str(self.root / "server.log"), "-o", self._options(), "-w", "-t", "60",
                  "start")

    def stop(self) -> None:
        if self.root is None:
            return
        if (self.root / "data" / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m",
                      "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
