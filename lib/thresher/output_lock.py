"""An exclusive lock on a run's output directory: two runs writing one output corrupt each other's tables.

The lock is a file `<output>/_thresher.lock` holding who holds it (user, pid, host, a random token, when it was
taken) and a heartbeat that a daemon thread refreshes while the run goes on. A second run is refused with a
message naming the holder. A lock is stale, and is taken over, when its holder ran on this host and that
process is gone, or when its heartbeat is older than `STALE_AFTER_SECONDS` (a holder on another host that
died). On a local file system the lock is created with O_EXCL (atomic); object stores have no exclusive
create, so there the lock is written and read back to check that this run's token won (best effort).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import posixpath
import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from thresher.core.processes import process_alive
from thresher.errors import ThresherError
from thresher.io import fs

LOCK_NAME = "_thresher.lock"
HEARTBEAT_SECONDS = 60.0
STALE_AFTER_SECONDS = 15 * 60.0

log = logging.getLogger(__name__)


class OutputLockedError(ThresherError):
    """Another run holds the output directory."""


class OutputLock:
    """`with OutputLock(output):` holds the output directory exclusively for the block."""

    def __init__(self, output: str, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> None:
        self.output = output
        self.path = posixpath.join(output.rstrip("/"), LOCK_NAME)
        self.heartbeat_seconds = heartbeat_seconds
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._taken_at = _now()

    # -- the context ----------------------------------------------------------------------------------------

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()

    def acquire(self) -> None:
        for _ in range(2):
            if self._create():
                self._start_heartbeat()
                return
            holder = self._read_holder()
            if holder is None or not is_stale(holder):
                break
            log.warning("taking over the stale lock %s of %s", self.path, describe_holder(holder))
            self._delete()
        holder = self._read_holder()
        raise OutputLockedError(
            f"{self.output} is in use by another thresher run ({describe_holder(holder or {})}); wait for it to "
            f"finish or use another --output. If no run is going on (it was killed on another machine), delete "
            f"{self.path}"
        )

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        holder = self._read_holder()
        if holder is not None and holder.get("token") == self.token:
            self._delete()

    # -- the lock file --------------------------------------------------------------------------------------

    def _content(self) -> str:
        return json.dumps(
            {
                "owner": _user(),
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "token": self.token,
                "taken_at": self._taken_at,
                "heartbeat_at": _now(),
            }
        )

    def _create(self) -> bool:
        if not fs.create_exclusive(self.path, self._content()):
            return False
        if fs.is_local(self.path):
            return True
        # An object store has no create-if-absent: a run that wrote at the same moment wins if its token stands.
        time.sleep(0.5)
        holder = self._read_holder()
        return holder is not None and holder.get("token") == self.token

    def _read_holder(self) -> dict[str, Any] | None:
        try:
            data = json.loads(fs.read_text(self.path))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # Unreadable or half-written: treat it as held, with nothing known about the holder.
            return {}
        return data if isinstance(data, dict) else {}

    def _delete(self) -> None:
        filesystem, path = fs.filesystem(self.path)
        with contextlib.suppress(FileNotFoundError):
            filesystem.delete_file(path)

    def _start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, name="thresher-output-lock", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            holder = self._read_holder()
            if holder is None or holder.get("token") != self.token:
                log.error("the lock %s was taken away from this run", self.path)
                return
            filesystem, path = fs.filesystem(self.path)
            temporary = f"{path}.{self.token}"
            try:
                with filesystem.open_output_stream(temporary) as stream:
                    stream.write(self._content().encode("utf-8"))
                filesystem.move(temporary, path)
            except OSError as error:
                log.warning("could not refresh the lock %s: %s", self.path, error)


def is_stale(holder: dict[str, Any], now: float | None = None) -> bool:
    """A holder on this host whose process is gone, or any holder silent for STALE_AFTER_SECONDS."""
    if not holder:
        return False
    pid = holder.get("pid")
    if holder.get("host") == socket.gethostname() and isinstance(pid, int) and not process_alive(pid):
        return True
    try:
        beat = datetime.fromisoformat(str(holder["heartbeat_at"])).timestamp()
    except (KeyError, ValueError):
        return False
    return (now if now is not None else time.time()) - beat > STALE_AFTER_SECONDS


def describe_holder(holder: dict[str, Any]) -> str:
    if not holder:
        return "holder unknown"
    return (
        f"pid {holder.get('pid')} on host {holder.get('host')}, user {holder.get('owner')}, since "
        f"{holder.get('taken_at')}"
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _now() -> str:
    return datetime.now(UTC).isoformat()
