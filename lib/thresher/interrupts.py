"""Ctrl-C during a run (issue 12, item 17): pyspark's SIGINT handler raises KeyboardInterrupt wherever the driver
is, often inside a py4j call, which logs the interrupt with a trace and then fails with an unrelated error
("Gateway must be connected to send cancel cmd"). The command line treats any error caused by an interrupt as
the interrupt (exit 130, the resume hint) and keeps those traces for --debug."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any


def caused_by_interrupt(error: BaseException) -> bool:
    """Whether `error` is, or was raised while handling, a KeyboardInterrupt."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class DropInterruptTraces(logging.Filter):
    """Drops log records that carry a KeyboardInterrupt (py4j's 'KeyboardInterrupt while sending command')."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = record.exc_info
        return not (info and info[1] is not None and caused_by_interrupt(info[1]))


# A Ctrl-C seen during the current run. pyspark's handler raises KeyboardInterrupt wherever the driver's main
# thread is; where that is a place that swallows it (seen ~1 in 10 interrupts in the first segment after ingest,
# the run then finished with exit 0), the latch still stops the run at its next segment boundary.
_received = threading.Event()


def latch_interrupts(before_handling: Callable[[], None] | None = None) -> None:
    """Wrap the SIGINT handler in place (pyspark's, installed when the SparkContext starts) so that every Ctrl-C is
    also remembered, after `before_handling` runs (its errors ignored); main thread only, and an ignored SIGINT
    (nohup) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous) or getattr(previous, "remembers_interrupts", False):
        return

    def remember_then_handle(signum: int, frame: FrameType | None) -> Any:
        _received.set()
        if before_handling is not None:
            try:
                before_handling()
            except Exception as error:  # the interrupt itself must go on
                logging.getLogger(__name__).debug("before the interrupt: %s", error)
        return previous(signum, frame)

    remember_then_handle.remembers_interrupts = True  # type: ignore[attr-defined]
    signal.signal(signal.SIGINT, remember_then_handle)


def forget_interrupts() -> None:
    """A new run starts: an interrupt of an earlier one (a notebook cell) does not stop it."""
    _received.clear()


def raise_if_interrupted() -> None:
    if _received.is_set():
        raise KeyboardInterrupt("interrupted (Ctrl-C) during this run")
