"""Forked children that cannot outlive their parent.

Used by the build (its index process and ``--all`` workers) and by ``helpgen serve
--processes``: a child asks the kernel to kill it when its parent dies (Linux
``PR_SET_PDEATHSIG``), so a killed parent leaves no process behind.
"""

from __future__ import annotations

import contextlib
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> None:
    """In a forked child: receive ``sig`` when the parent dies, and leave at once if it
    already has (between the fork and this call)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)
