"""Helpers shared by the benchmarks: where the corpora and the reference venv are, and the CPU-time harness."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SHARED_DATA = Path(os.environ.get("THRESHER_SHARED_DATA", ROOT.parent / "shared" / "data"))
# The venv with datatrove==0.10.1 (and spacy, regex) installed: see the README's benchmark section.
# `make bench` creates it there.
REFERENCE_PYTHON = Path(
    os.environ.get("THRESHER_DATATROVE_PYTHON", ROOT / "build" / "venvs" / "datatrove" / "bin" / "python")
)
REFERENCE_SCRIPT = ROOT / "bench" / "datatrove_reference.py"


def corpora() -> list[Path]:
    paths = sorted(SHARED_DATA.glob("*.jsonl"))
    if not paths:
        raise SystemExit(f"no corpora in {SHARED_DATA} (set THRESHER_SHARED_DATA)")
    return paths


def check_reference() -> None:
    if not REFERENCE_PYTHON.exists():
        raise SystemExit(
            f"reference venv not found: {REFERENCE_PYTHON}. `make bench` creates it (make reference-venv), or\n"
            "point THRESHER_DATATROVE_PYTHON at the python of a venv with datatrove==0.10.1 spacy==3.8.18 regex."
        )


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return path


# ---------------------------------------------------------------------------------------------------------------
# CPU-time harness: benchmarks that hold on a shared machine. Wall time on a loaded machine measures the load as
# much as the code; the CPU seconds a command's whole process tree spends (driver, JVM, Python workers) do not
# (much), so ratios of CPU time are the headline and wall time is reported beside them.

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> bool:
    """Orphaned descendants (a JVM whose Python parent exited first) are re-parented to this process instead of
    init, so that waiting for them gives their CPU time too. Linux only; False elsewhere."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


@dataclass
class _ProcSample:
    parent: int
    own_cpu: float  # utime + stime of the process itself
    children_cpu: float  # cutime + cstime: its children that it has waited for
    rss: int


def _proc_table() -> dict[int, _ProcSample]:
    table: dict[int, _ProcSample] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            rss_pages = int((entry / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended between listing and reading
        # The command name (field 2) may hold spaces and parentheses: the fields after the last ')' are fixed.
        fields_after = stat.rsplit(")", 1)[1].split()
        utime, stime, cutime, cstime = (int(x) / _CLOCK_TICKS for x in fields_after[11:15])
        table[int(entry.name)] = _ProcSample(
            int(fields_after[1]), utime + stime, cutime + cstime, rss_pages * _PAGE_BYTES
        )
    return table


def _tree(table: dict[int, _ProcSample], roots: set[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, sample in table.items():
        children.setdefault(sample.parent, []).append(pid)
    members, stack = set(), [pid for pid in roots if pid in table]
    while stack:
        pid = stack.pop()
        if pid not in members:
            members.add(pid)
            stack += children.get(pid, [])
    return members


@dataclass
class Usage:
    """What one command cost: wall seconds, CPU seconds of its whole process tree (user + system: the larger of the
    kernel's accounting of every process waited for and the sampled sum over the live tree), the peak resident
    memory of the tree (sampled), and the machine's 1-minute load average during the run (sampled; it includes
    this command's own processes)."""

    returncode: int
    wall_seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    load_average_mean: float
    load_average_max: float
    stdout: str = ""
    stderr: str = ""
    # (seconds since the start, CPU seconds of the tree so far): CPU spent inside a window of the run, e.g. one
    # segment of a thresher run whose manifest gives its start and end.
    timeline: list[tuple[float, float]] = field(default_factory=list, repr=False)
    started_unix: float = 0.0
    cpu_rusage_seconds: float = 0.0  # the kernel's rusage of the waited-for tree
    cpu_sampled_seconds: float = 0.0  # the peak of the sampled sum over the live tree

    def cpu_between(self, start_unix: float, end_unix: float) -> float:
        """CPU seconds of the tree between two wall-clock instants (from the sampled timeline)."""

        def at(instant: float) -> float:
            offset = instant - self.started_unix
            previous = (0.0, 0.0)
            for point in self.timeline:
                if point[0] >= offset:
                    span = point[0] - previous[0]
                    weight = (offset - previous[0]) / span if span > 0 else 1.0
                    return previous[1] + weight * (point[1] - previous[1])
                previous = point
            return previous[1]

        return max(0.0, at(end_unix) - at(start_unix))

    def summary(self) -> dict[str, float]:
        return {
            "wall_seconds": self.wall_seconds,
            "cpu_seconds": self.cpu_seconds,
            "cpu_rusage_seconds": self.cpu_rusage_seconds,
            "cpu_sampled_seconds": self.cpu_sampled_seconds,
            "peak_rss_mb": self.peak_rss_bytes / 2**20,
            "load_average_mean": self.load_average_mean,
            "load_average_max": self.load_average_max,
        }


def measure_command(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | str | None = None,
    interval: float = 0.5,
    orphan_grace_seconds: float = 60.0,
) -> Usage:
    """Run `command` to its end and measure it (see `Usage`). Output is captured to temporary files (no pipe
    can fill up). CPU time: the rusage of the command's process as the kernel gives it when waited for (its own
    time plus every descendant that was waited for), plus the rusage of descendants orphaned on the way (this
    process is made their subreaper, waits for them up to `orphan_grace_seconds`, then kills them)."""
    import signal
    import subprocess
    import tempfile
    import threading

    subreaper = _become_subreaper()
    seen: set[int] = set()
    peak, loads, timeline = 0, [], []
    done = threading.Event()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started_unix, started = time.time(), time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd)
        seen.add(process.pid)

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                table = _proc_table()
                # Members: descendants of the command, and processes seen before that were re-parented here.
                members = _tree(table, {process.pid} | {pid for pid in seen if pid in table})
                seen.update(members)
                peak = max(peak, sum(table[pid].rss for pid in members))
                # A dead child that was waited for is in its parent's children_cpu (no longer in the table).
                cpu = sum(table[pid].own_cpu + table[pid].children_cpu for pid in members)
                # Monotonic: the last sample, after the tree has ended, finds no member.
                timeline.append((time.perf_counter() - started, max(cpu, timeline[-1][1] if timeline else 0.0)))
                loads.append(os.getloadavg()[0])
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, rusage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        cpu = rusage.ru_utime + rusage.ru_stime
        # Orphans: descendants left behind (the Spark JVM outlives its Python driver by a moment).
        deadline = time.perf_counter() + orphan_grace_seconds
        while subreaper:
            orphans = [pid for pid, s in _proc_table().items() if s.parent == os.getpid() and pid in seen]
            if not orphans:
                break
            for pid in orphans:
                if time.perf_counter() > deadline:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    reaped, _, orphan_usage = os.wait4(pid, os.WNOHANG)
                    if reaped:
                        cpu += orphan_usage.ru_utime + orphan_usage.ru_stime
            time.sleep(0.05)
        done.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    # Two lower bounds of the tree's CPU: the kernel's rusage misses a descendant reaped by a process outside the
    # tree or never reaped by anyone this process saw; the samples miss what ran between the last sample and a
    # death. Long Spark runs lose Python workers' CPU from the rusage (a 100k-document web_en run: 265 CPU s by
    # the rusage, 551 sampled), so the larger of the two is the figure.
    sampled = timeline[-1][1] if timeline else 0.0
    timeline.append((max(wall, timeline[-1][0] if timeline else 0.0), max(cpu, sampled)))
    return Usage(
        returncode=process.returncode,
        wall_seconds=wall,
        cpu_seconds=max(cpu, sampled),
        cpu_rusage_seconds=cpu,
        cpu_sampled_seconds=sampled,
        peak_rss_bytes=peak,
        load_average_mean=statistics.fmean(loads) if loads else os.getloadavg()[0],
        load_average_max=max(loads, default=os.getloadavg()[0]),
        stdout=stdout,
        stderr=stderr,
        timeline=timeline,
        started_unix=started_unix,
    )


def alternate_rounds(
    sides: dict[str, Callable[[], dict[str, Any]]], rounds: int, log: Path | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Run each side once per round, in turn (A, B, A, B, ...), so that a change of load during the benchmark
    hits both sides alike; returns every round's result per side. With `log`, each result is also appended to
    that JSONL file as soon as it is measured (a long benchmark killed half-way keeps what it measured)."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    for number in range(rounds):
        for name, run in sides.items():
            print(f"  round {number + 1}/{rounds}: {name}", flush=True)
            results[name].append(run())
            if log is not None:
                log.parent.mkdir(parents=True, exist_ok=True)
                with log.open("a") as sink:
                    sink.write(json.dumps({"round": number + 1, "side": name, **results[name][-1]}) + "\n")
    return results


def medians(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of every numeric field over rounds (non-numeric fields from the first round)."""
    merged: dict[str, Any] = {}
    for key, first in rounds[0].items():
        values = [r.get(key) for r in rounds]
        if isinstance(first, bool) or not all(isinstance(v, int | float) for v in values):
            merged[key] = first
        else:
            merged[key] = statistics.median(values)
    return merged


def machine() -> dict[str, Any]:
    """The machine the numbers came from: cores and the load average when this was called."""
    return {"cores": os.cpu_count(), "load_average_1_5_15": list(os.getloadavg())}
