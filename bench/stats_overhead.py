"""Statistics' share of a segment's time: the separate pass over each committed checkpoint (before) against the
measuring done inside the job that writes it (`thresher.stats_tap`, now), on the same corpus and config.

    python -m bench.stats_overhead [--config conf/demo.yaml] [--docs 3000] [--input PATH ...] [--rounds 1]

Each side runs `thresher run` in its own process; the separate pass is the runner with the tap turned off (what
thresher did before). Per side: the statistics' seconds (separate: the stats pass after each commit; fused: the
seconds the tasks spent measuring plus the driver's merge) over the segments' seconds, the Spark jobs the run
launched, and the CPU seconds of the process tree (driver, JVM, Python workers, from /proc). Rounds alternate the
two sides; medians are reported with the machine's load average, since other processes slow both sides.
Default input: the demo corpus (`thresher demo-corpus`, distinct generated documents plus its planted duplicates
and malformed records). Writes bench/results/stats_overhead.json. Target: statistics <= 10% of a segment's time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import ROOT, write_result

_CHILD = r"""
import json, os, sys, time
import thresher.runner as runner
import thresher.stats_fused as stats_fused
from thresher.conf import load_config
from thresher.io.layout import OutputLayout
from thresher.manifest import read_manifest
from thresher.spark import get_spark
from thresher.stats_tap import measuring_seconds

mode, config_path, output, inputs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
measured = []
if mode == "separate":
    def no_tap(frame, spec, inner=None, schema=None):
        return (frame.mapInArrow(inner, schema) if inner is not None else frame), None
    runner.tap = no_tap
else:
    for name in ("ingest_stats_from_partials", "segment_stats_from_partials"):
        original = getattr(stats_fused, name)
        def counted(partials, *args, _original=original, **kwargs):
            measured.append(measuring_seconds(partials))
            return _original(partials, *args, **kwargs)
        setattr(runner, name, counted)
config = load_config(config_path, output=output, input_path=inputs or None, run_id="bench")
spark = get_spark(config.spark)
jobs_before = spark.sparkContext._jsc.sc().dagScheduler().nextJobId()
started = time.perf_counter()
runner.run_pipeline(config, spark)
wall = time.perf_counter() - started
jobs = spark.sparkContext._jsc.sc().dagScheduler().nextJobId() - jobs_before
manifest = read_manifest(OutputLayout(output).manifest)
segments = {k: [v.wall_seconds or 0.0, v.stats_seconds or 0.0] for k, v in manifest.segments.items()}
print("RESULT " + json.dumps({"wall": wall, "jobs": jobs, "segments": segments, "measuring": sum(measured)}))
"""


def _tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of `pid` and its descendants, including children they have reaped (/proc stat fields)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        cpu[int(entry)] = sum(int(x) for x in fields[11:15]) / tick
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        total += cpu.get(current, 0.0)
        stack.extend(children.get(current, []))
    return total


def run_side(mode: str, config: str, inputs: list[str], output: Path) -> dict[str, Any]:
    """One run in a child process; its CPU is sampled until it ends (the last sample before exit counts)."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, mode, config, str(output), *inputs],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    cpu = 0.0
    while child.poll() is None:
        cpu = max(cpu, _tree_cpu_seconds(child.pid))
        time.sleep(0.5)
    stdout, stderr = child.communicate()
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    if child.returncode != 0 or not lines:
        raise SystemExit(f"{mode} run failed:\n{stderr[-4000:]}")
    result = json.loads(lines[0].removeprefix("RESULT "))
    segments = result["segments"]
    walls = sum(wall for wall, _ in segments.values())
    driver = sum(stats for _, stats in segments.values())
    # The manifest's stats_seconds: separate, the stats pass after each commit; fused, the driver's merge after
    # the commit plus the tasks' measuring, which is inside the commit's wall time (summed over tasks: an upper
    # bound on its wall share).
    stats_seconds = driver
    after_commit = driver - result["measuring"]
    return {
        "mode": mode,
        "wall_seconds": result["wall"],
        "cpu_seconds": cpu,
        "spark_jobs": result["jobs"],
        "segments": segments,
        "stats_seconds": stats_seconds,
        "stats_share": stats_seconds / (walls + after_commit) if walls + after_commit else None,
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(ROOT / "conf" / "demo.yaml"))
    parser.add_argument("--input", action="append", default=[], help="input files (default: the demo corpus)")
    parser.add_argument("--docs", type=int, default=3000, help="documents of the generated demo corpus")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds of both sides (medians)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="thresher-stats-overhead-") as tmp:
        inputs = args.input
        if not inputs:
            from thresher.demo import generate_demo_corpus

            corpus = Path(tmp) / "corpus.jsonl"
            generate_demo_corpus(corpus, docs=args.docs)
            inputs = [str(corpus)]
        runs: dict[str, list[dict[str, Any]]] = {"separate": [], "fused": []}
        for round_index in range(args.rounds):
            for mode in ("separate", "fused") if round_index % 2 == 0 else ("fused", "separate"):
                result = run_side(mode, args.config, inputs, Path(tmp) / f"{mode}-{round_index}")
                runs[mode].append(result)
                print(
                    f"{mode:>8}: stats {result['stats_share']:.1%} of the segments' time, "
                    f"{result['spark_jobs']} Spark jobs, {result['cpu_seconds']:.1f} CPU s, "
                    f"{result['wall_seconds']:.1f} s wall (load {result['load_average']:.1f})",
                    flush=True,
                )

    def median(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[mode])

    summary = {
        "config": args.config,
        "inputs": inputs if args.input else f"demo corpus, {args.docs} documents",
        "rounds": args.rounds,
        "runs": runs,
        "stats_share_before": median("separate", "stats_share"),
        "stats_share_after": median("fused", "stats_share"),
        "spark_jobs_before": median("separate", "spark_jobs"),
        "spark_jobs_after": median("fused", "spark_jobs"),
        "cpu_seconds_before": median("separate", "cpu_seconds"),
        "cpu_seconds_after": median("fused", "cpu_seconds"),
        "note": "CPU seconds of the process tree; the machine's load average is recorded per run",
    }
    path = write_result("stats_overhead", summary)
    print(
        f"statistics: {summary['stats_share_before']:.1%} of a segment's time as a separate pass -> "
        f"{summary['stats_share_after']:.1%} measured in the pass (target <= 10%); Spark jobs "
        f"{summary['spark_jobs_before']:.0f} -> {summary['spark_jobs_after']:.0f}; CPU "
        f"{summary['cpu_seconds_before']:.1f} s -> {summary['cpu_seconds_after']:.1f} s ({path})"
    )


if __name__ == "__main__":
    main()
