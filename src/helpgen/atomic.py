"""Publishing on disk without a half-written moment: locks, staging folders, swaps.

Shared by ``site`` (built sites, versions.json) and ``index`` (Whoosh indexes,
aliases.json), so both publish the same way. This is also the write layer the
publish step goes through: every operation reports itself to :mod:`helpgen.faults`
(``write:staging``, ``write:text``, ``write:swap``) so tests can inject disk errors,
and :func:`disk_errors` turns the errors a machine raises (full disk, read-only
folder, no permission) into a :class:`HelpgenError` with exit code 4.

Folders are replaced with ``renameat2(RENAME_EXCHANGE)`` (Linux 3.15+, ext4, xfs,
btrfs, tmpfs): the new tree and the old one trade names in one step, so a reader
sees either the old folder or the new one, never no folder, and the old tree stays
complete under the staging name until the caller removes it (or swaps it back).
Where the kernel or file system cannot exchange, two renames are used instead
(a moment without the folder).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import faults
from .errors import EXIT_ENVIRONMENT, HelpgenError

STAGING_PREFIXES = (".staging-", ".old-", ".alias-")
_STAGING_LOCK = ".sweep.lock"


@contextlib.contextmanager
def locked(folder: Path, name: str = ".lock", shared: bool = False) -> Iterator[None]:
    """An exclusive (or shared) lock held on ``folder/name`` (created if missing)."""
    with open(folder / name, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary sibling, then rename it over ``path``."""
    faults.reached("write", "text", path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def replace_file(src: Path, dest: Path) -> None:
    """Rename the finished file ``src`` over ``dest`` (one step for readers)."""
    faults.reached("write", "swap", dest)
    os.replace(src, dest)


# --------------------------------------------------------------------------- staging

@dataclass
class Staging:
    """A hidden folder a build writes into, locked (``flock`` on the folder itself) for
    as long as this object is open, so :func:`sweep` never takes it from a live build.

    The lock follows the folder when it is renamed, and a forked child shares it.
    """

    path: Path
    fd: int

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    def discard(self) -> None:
        """Remove whatever is still at the staging path, then release the lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.close()


def make_staging(parent: Path, prefix: str) -> Staging:
    """A fresh locked staging folder ``parent/<prefix>XXXX``."""
    if not prefix.startswith(STAGING_PREFIXES):
        raise ValueError(f"staging prefix must start with one of {STAGING_PREFIXES}")
    faults.reached("write", "staging", parent)
    parent.mkdir(parents=True, exist_ok=True)
    with locked(parent, _STAGING_LOCK, shared=True):  # no sweep between create and lock
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return Staging(path, fd)


def sweep(parent: Path) -> list[Path]:
    """Delete every staging folder in ``parent`` whose lock is free, whatever its age:
    its build was killed (a live build holds the lock of each of its folders)."""
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    with locked(parent, _STAGING_LOCK):
        for path in parent.iterdir():
            if not path.name.startswith(STAGING_PREFIXES) or path.is_symlink():
                continue
            if not path.is_dir():
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
                continue
            try:
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue  # a live build's folder
            try:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
            finally:
                os.close(fd)
    return removed


# --------------------------------------------------------------------------- swaps

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange(a: Path, b: Path) -> bool:
    """Trade the names of ``a`` and ``b`` atomically; False where that is unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def put_in_place(staging: Path, final: Path) -> bool:
    """Move the folder ``staging`` to ``final``. When ``final`` existed, the two trade
    places (see the module docstring): the old tree is then at ``staging`` and True is
    returned; the caller removes it."""
    faults.reached("write", "swap", final)
    if os.path.lexists(final):
        if not exchange(staging, final):
            away = final.with_name(f".old-{final.name}-{os.getpid()}-{time.monotonic_ns()}")
            final.rename(away)
            staging.rename(final)
            away.rename(staging)
        return True
    staging.rename(final)
    return False


def swap_into_place(staging: Path, final: Path) -> None:
    """Replace the folder ``final`` with ``staging`` and remove the old tree."""
    if put_in_place(staging, final):
        shutil.rmtree(staging, ignore_errors=True)


# --------------------------------------------------------------------------- disk errors

ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: "free space on that file system",
    errno.EDQUOT: "free space or raise the disk quota of the user running helpgen",
    errno.EROFS: "the file system is mounted read-only: remount it read-write or choose "
                 "another folder (--site-dir, --index-dir)",
    errno.EACCES: "give the user running helpgen write permission on it, or choose another "
                  "folder (--site-dir, --index-dir)",
    errno.EPERM: "give the user running helpgen write permission on it, or choose another "
                 "folder (--site-dir, --index-dir)",
}


LEFT_AS_THEY_WERE = "the published versions were left as they were"


def environment_error(exc: BaseException, outcome: str = LEFT_AS_THEY_WERE
                      ) -> HelpgenError | None:
    """The :class:`HelpgenError` (exit code 4) for a disk error, else None. ``outcome``
    says what became of the published files."""
    if not isinstance(exc, OSError) or exc.errno not in ENVIRONMENT_ERRNOS:
        return None
    where = Path(exc.filename) if exc.filename else None
    folder = where if where is None or where.is_dir() else where.parent
    name = errno.errorcode.get(exc.errno, str(exc.errno))
    reason = (exc.strerror or name).split(" (injected")[0]
    injected = " (injected by HELPGEN_FAULT)" if "injected" in (exc.strerror or "") else ""
    return HelpgenError(
        f"cannot write in {folder or 'the output folder'}: {reason} [{name}]{injected}; "
        f"{ENVIRONMENT_ERRNOS[exc.errno]}, then run the command again ({outcome})",
        exit_code=EXIT_ENVIRONMENT)


@contextlib.contextmanager
def disk_errors() -> Iterator[None]:
    """Re-raise disk errors of the block as :func:`environment_error`."""
    try:
        yield
    except OSError as exc:
        err = environment_error(exc)
        if err is None:
            raise
        raise err from exc
