"""Start a `thresher` command line and send its process group a signal when a line of its log says so: how the
end-to-end tests kill or interrupt a run at a chosen point."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import PROJECT_ROOT


def signal_when_logged(command: list[str], marker: str, signum: int) -> tuple[subprocess.Popen[str], list[str]]:
    """Run `command` in a new session and send `signum` to its whole group at the first stderr line holding
    `marker`. Returns the process (still to be waited for) and the stderr lines read so far."""
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    seen: list[str] = []
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line)
        if marker in line:
            os.killpg(process.pid, signum)
            break
    return process, seen
