"""Processes on this host: whether a lock or lease holder is still running."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """True when a process with `pid` runs on this host (also when it belongs to another user)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
