"""What statistics and reports cost: the demo pipeline on a generated corpus, then

* per pass: its wall time (pass + commit) and the seconds its statistics took (two jobs over the committed
  checkpoint), as a ratio;
* the statistics of each pass recomputed once more on the warm session (no JIT warm-up in the number);
* `report.html` of the run, and the comparison with a second run (another `min_words`).

    python -m bench.report_stats [--docs 20000]

Writes bench/results/report_stats.json. Timings on a shared machine are noisy: compare the ratios.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from thresher.conf import load_config
from thresher.demo import generate_demo_corpus
from thresher.io.delta import DeltaStore, resolve_format
from thresher.io.layout import OutputLayout
from thresher.manifest import read_manifest
from thresher.plan import make_plan
from thresher.report.compare import compare_runs
from thresher.report.compare_report import render_comparison
from thresher.report.run_report import write_run_report
from thresher.runner import run_pipeline
from thresher.spark import get_spark
from thresher.stats import SegmentRun, StageTiming, segment_stats

ROOT = Path(__file__).resolve().parents[1]
SPARK_CONF = {"spark.master": "local[2]", "spark.driver.memory": "3g", "spark.sql.shuffle.partitions": "8"}


def _seconds(fn) -> tuple[float, object]:
    clock = time.perf_counter()
    value = fn()
    return time.perf_counter() - clock, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    args = parser.parse_args()
    spark = get_spark(SPARK_CONF, app_name="thresher-bench-report")
    work = Path(tempfile.mkdtemp(prefix="thresher-bench-report-"))
    corpus = work / "corpus.jsonl"
    generate_demo_corpus(corpus, args.docs)

    def config(name: str, min_words: int):
        return load_config(
            ROOT / "conf" / "demo.yaml",
            input_path=str(corpus),
            output=str(work / name),
            sets=["run.report=false", f"stages.length.min_words={min_words}"],
            spark_conf=[f"{k}={v}" for k, v in SPARK_CONF.items()],
        )

    run_seconds, result = _seconds(lambda: run_pipeline(config("a", 50), spark))
    manifest = read_manifest(OutputLayout(str(work / "a")).manifest)
    passes = {
        name: {
            "pass_seconds": info["wall_seconds"],
            "stats_seconds": info.get("stats_seconds"),
            "stats_to_pass": info["stats_seconds"] / info["wall_seconds"] if info.get("stats_seconds") else None,
        }
        for name, info in manifest["segments"].items()
    }
    plan = make_plan(config("a", 50), manifest["input_fingerprint"])
    store = DeltaStore(spark, resolve_format(spark, "auto"))
    expected = result.stats[0]["docs_out"]
    index = 1
    for segment in plan.segments:
        checkpoint = store.read(OutputLayout(str(work / "a")).checkpoint(segment.name))
        moment = result.stats[0]["started_at"]
        timings = {s.id: StageTiming(moment, moment, 1.0) for s in segment.stages}
        warm, rows = _seconds(
            lambda checkpoint=checkpoint, segment=segment, index=index, expected=expected, timings=timings: (
                segment_stats(checkpoint, SegmentRun(segment, index, "bench", "filter", expected, timings))
            )
        )
        passes[segment.name]["stats_seconds_warm"] = warm
        expected = rows[-1]["docs_out"]
        index += len(segment.stages)
    report_seconds, _ = _seconds(lambda: write_run_report(spark, str(work / "a")))
    report_again, _ = _seconds(lambda: write_run_report(spark, str(work / "a")))
    run_pipeline(config("b", 80), spark)
    compare_seconds, comparison = _seconds(lambda: compare_runs(spark, str(work / "a"), str(work / "b")))
    results = {
        "docs": args.docs,
        "run_seconds": run_seconds,
        "passes": passes,
        "report_seconds": report_seconds,
        "report_seconds_warm": report_again,
        "report_bytes": (work / "a" / "report.html").stat().st_size,
        "compare_seconds": compare_seconds,
        "compare_html_bytes": len(render_comparison(comparison).encode()),
        "moved_documents": sum(m.count for m in comparison.moved()),
    }
    out = ROOT / "bench" / "results" / "report_stats.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
