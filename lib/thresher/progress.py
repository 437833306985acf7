"""A progress line on an interactive terminal while Spark works: what runs (the job description the runner
sets, e.g. `thresher 01_normalize+length (run id)`), tasks done of the active Spark stages, elapsed time.

Only on a terminal: never when stderr is a file or pipe (logs, CI), with CI set, or with TERM=dumb. A daemon
thread polls `SparkContext.statusTracker()`; log records clear the line before they print, so log lines and
the bar never share a line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

from thresher.spark import current_job_description

POLL_SECONDS = 0.5
_BAR_CELLS = 24


def progress_wanted(stream: TextIO) -> bool:
    return stream.isatty() and not os.environ.get("CI") and os.environ.get("TERM", "") != "dumb"


@contextlib.contextmanager
def progress_on_terminal(stream: TextIO | None = None, enabled: bool = True) -> Iterator[None]:
    """Show a progress line on `stream` (stderr) while the block runs, when it is an interactive terminal."""
    stream = stream or sys.stderr
    if not enabled or not progress_wanted(stream):
        yield
        return
    bar = ProgressBar(stream)
    bar.start()
    try:
        yield
    finally:
        bar.stop()


def progress_line(label: str, done: int, running: int, total: int, seconds: float, width: int) -> str:
    """One line: label, a bar of the active stages' tasks, counts and elapsed time, cut to `width`."""
    filled = round(_BAR_CELLS * done / total) if total else 0
    bar = "#" * filled + "." * (_BAR_CELLS - filled)
    minutes, secs = divmod(int(seconds), 60)
    tasks = f"{done}/{total} tasks" + (f", {running} running" if running else "") if total else "waiting"
    line = f"[{bar}] {tasks} {minutes}:{secs:02d}  {label}"
    return line if len(line) < width else line[: max(width - 2, 0)] + "\u2026"


class ProgressBar:
    def __init__(self, stream: TextIO, interval: float = POLL_SECONDS) -> None:
        self.stream = stream
        self.interval = interval
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._shown = False
        self._thread = threading.Thread(target=self._loop, name="thresher-progress", daemon=True)
        self._filter = _ClearBeforeLog(self)
        self._label: str | None = None
        self._label_since = time.monotonic()

    def start(self) -> None:
        for handler in logging.getLogger().handlers:
            handler.addFilter(self._filter)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self._filter)
        self.clear()

    def clear(self) -> None:
        with self._lock:
            if self._shown:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._shown = False

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                line = self._line()
            except Exception:  # the context may be stopping; the bar is never worth an error
                line = None
            if line is None:
                continue
            with self._lock:
                self.stream.write("\r" + line + "\x1b[K")
                self.stream.flush()
                self._shown = True

    def _line(self) -> str | None:
        from pyspark import SparkContext

        context = SparkContext._active_spark_context
        if context is None:
            return None
        label = current_job_description() or "spark"
        if label != self._label:
            self._label, self._label_since = label, time.monotonic()
        tracker = context.statusTracker()
        stages = [tracker.getStageInfo(i) for i in tracker.getActiveStageIds()]
        stages = [s for s in stages if s is not None]
        total = sum(s.numTasks for s in stages)
        done = sum(s.numCompletedTasks for s in stages)
        running = sum(s.numActiveTasks for s in stages)
        width = shutil.get_terminal_size().columns
        return progress_line(label, done, running, total, time.monotonic() - self._label_since, width)


class _ClearBeforeLog(logging.Filter):
    def __init__(self, bar: ProgressBar) -> None:
        super().__init__()
        self.bar = bar

    def filter(self, record: logging.LogRecord) -> bool:
        self.bar.clear()
        return True
