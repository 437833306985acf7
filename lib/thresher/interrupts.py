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


# A Ctrl-C seen during the current run: checked at every segment boundary, so that an interrupt raised where the
# driver swallows it still stops the run.
_received = threading.Event()


def latch_interrupts(on_interrupt: Callable[[], None]) -> None:
    """Handle SIGINT (main thread only; an ignored SIGINT, as under nohup, stays ignored): remember it, run
    `on_interrupt` (cancel the Spark jobs) on another thread, then raise KeyboardInterrupt.

    This replaces pyspark's handler, which cancels the jobs from the main thread itself: when the interrupt
    comes while the main thread waits for a py4j answer, that second call shares its connection ("reentrant
    call inside BufferedReader"), py4j logs a trace, and in about 1 of 10 interrupts the run went on to finish."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return

    def remember_cancel_raise(signum: int, frame: FrameType | None) -> Any:
        _received.set()
        worker = threading.Thread(target=_quietly, args=(on_interrupt,), name="thresher-interrupt", daemon=True)
        worker.start()
        worker.join(timeout=10)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, remember_cancel_raise)


def _quietly(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception as error:  # the interrupt itself must go on
        logging.getLogger(__name__).debug("on interrupt: %s", error)


def forget_interrupts() -> None:
    """A new run starts: an interrupt of an earlier one (a notebook cell) does not stop it."""
    _received.clear()


def raise_if_interrupted() -> None:
    if _received.is_set():
        raise KeyboardInterrupt("interrupted (Ctrl-C) during this run")
