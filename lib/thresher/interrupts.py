"""Ctrl-C during a run (issue 12, item 17): pyspark's SIGINT handler raises KeyboardInterrupt wherever the driver
is, often inside a py4j call, which logs the interrupt with a trace and then fails with an unrelated error
("Gateway must be connected to send cancel cmd"). The command line treats any error caused by an interrupt as
the interrupt (exit 130, the resume hint) and keeps those traces for --debug."""

from __future__ import annotations

import logging


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
