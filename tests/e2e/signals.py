"""Start a `thresher` command line and send its process group a signal when a line of its log says so: how the
end-to-end tests kill or interrupt a run at a chosen point."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import PROJECT_ROOT

# Resets SIGINT to its default, then becomes the command (argv[1:]); a default disposition survives exec.
_WITH_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
)


def signal_when_logged(command: list[str], marker: str, signum: int) -> tuple[subprocess.Popen[str], list[str]]:
    """Run `command` in a new session and send `signum` to its whole group at the first stderr line holding
    `marker`. Returns the process (still to be waited for) and the stderr lines read so far.

    The command starts with SIGINT at its default, as from a terminal: a test runner started in the background
    of a non-interactive shell ignores SIGINT, and an ignored signal stays ignored across exec."""
    process = subprocess.Popen(
        [sys.executable, "-c", _WITH_DEFAULT_SIGINT, *command],
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
