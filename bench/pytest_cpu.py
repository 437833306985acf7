"""A pytest plugin that reports each test's CPU seconds, of the pytest process and every process under it (the
Spark JVM, its Python workers, `thresher run` and `spark-submit` subprocesses): on a machine other jobs load,
wall-clock durations mislead, CPU time much less. Linux only (reads /proc).

    .venv/bin/python -m pytest -p bench.pytest_cpu tests/spark/test_dedup_index.py

prints the tests by CPU time at the end; THRESHER_CPU_REPORT=FILE also appends the lines to FILE.
A process that outlives its parent (a JVM orphaned when its launcher is killed or exits without waiting for it,
as a notebook kernel's may) is reparented to init and its CPU time is missed: such tests read low.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

_TICKS = os.sysconf("SC_CLK_TCK")
_results: list[tuple[float, float, str]] = []


def _stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and of its children it has waited for)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    # fields[1] is the parent pid; utime, stime, cutime, cstime are fields 14-17 of stat (here 11-14).
    return int(fields[1]), sum(int(v) for v in fields[11:15]) / _TICKS


def tree_cpu_seconds(root: int | None = None) -> float:
    """CPU seconds of `root` (this process) and its live descendants, with the children each has reaped."""
    root = root or os.getpid()
    stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _stat(p)) is not None}
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += stats[pid][1] if pid in stats else 0.0
        todo.extend(children.get(pid, []))
    return total


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    cpu, wall = tree_cpu_seconds(), time.monotonic()
    yield
    _results.append((tree_cpu_seconds() - cpu, time.monotonic() - wall, item.nodeid))


def pytest_terminal_summary(terminalreporter) -> None:
    lines = [f"cpu {cpu:8.1f} s  wall {wall:8.1f} s  {nodeid}" for cpu, wall, nodeid in sorted(_results, reverse=True)]
    terminalreporter.write_sep("=", "CPU seconds per test (process tree)")
    for line in lines:
        terminalreporter.write_line(line)
    if report := os.environ.get("THRESHER_CPU_REPORT"):
        with open(report, "a", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)
