"""A Ctrl-C is remembered for the rest of the run, whatever the driver's main thread was doing when it came."""

from __future__ import annotations

import os
import signal

import pytest

from thresher.interrupts import forget_interrupts, latch_interrupts, raise_if_interrupted


@pytest.fixture
def sigint_handler():
    saved = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, saved)
    forget_interrupts()


def test_a_swallowed_interrupt_still_stops_the_run_at_the_next_check(sigint_handler) -> None:
    calls: list[str] = []
    # Stands for pyspark's handler, whose KeyboardInterrupt some code in the driver swallowed.
    signal.signal(signal.SIGINT, lambda signum, frame: calls.append("previous"))
    latch_interrupts(lambda: calls.append("before"))
    latch_interrupts(lambda: calls.append("again"))  # a second session in the same process does not wrap twice
    forget_interrupts()
    raise_if_interrupted()  # nothing received yet

    os.kill(os.getpid(), signal.SIGINT)

    assert calls == ["before", "previous"]  # the handler in place still runs, once, after the silencing
    with pytest.raises(KeyboardInterrupt):
        raise_if_interrupted()
    forget_interrupts()  # the next run (a notebook cell) starts afresh
    raise_if_interrupted()


def test_an_error_before_handling_does_not_stop_the_interrupt(sigint_handler) -> None:
    calls: list[str] = []
    signal.signal(signal.SIGINT, lambda signum, frame: calls.append("previous"))

    def broken() -> None:
        raise RuntimeError("gateway gone")

    latch_interrupts(broken)
    os.kill(os.getpid(), signal.SIGINT)
    assert calls == ["previous"]
    with pytest.raises(KeyboardInterrupt):
        raise_if_interrupted()


def test_an_ignored_sigint_stays_ignored(sigint_handler) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    latch_interrupts()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
