"""Ctrl-C during a run: the jobs are cancelled from another thread, KeyboardInterrupt is raised, and the interrupt
is remembered for the rest of the run, whatever the driver's main thread was doing when it came."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from thresher.interrupts import forget_interrupts, latch_interrupts, raise_if_interrupted


@pytest.fixture
def sigint_handler():
    saved = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, saved)
    forget_interrupts()


def test_an_interrupt_cancels_off_the_main_thread_raises_and_is_remembered(sigint_handler) -> None:
    threads: list[str] = []
    latch_interrupts(lambda: threads.append(threading.current_thread().name))
    forget_interrupts()
    raise_if_interrupted()  # nothing received yet

    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
    # Not the main thread: a py4j call from there could share the connection the main thread is waiting on.
    assert threads == ["thresher-interrupt"]
    # Where the KeyboardInterrupt was swallowed, the next check stops the run.
    with pytest.raises(KeyboardInterrupt):
        raise_if_interrupted()
    forget_interrupts()  # the next run (a notebook cell) starts afresh
    raise_if_interrupted()


def test_a_failing_cancel_does_not_stop_the_interrupt(sigint_handler) -> None:
    def broken() -> None:
        raise RuntimeError("gateway gone")

    latch_interrupts(broken)
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        raise_if_interrupted()


def test_an_ignored_sigint_stays_ignored(sigint_handler) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    latch_interrupts(lambda: None)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
