"""Dedup of a new dump against a dedup index of earlier dumps vs one run over all the dumps, and how the new dump's
time grows with the index.

    python -m bench.dedup_index [--dump 2000] [--scale 10]

Documents: bench.dedup_scaling's synthetic corpus (spans of the real documents in ../shared/data, one in ten a
variant of an earlier document: near-duplicates across and within dumps). Dump 1 is the first `--dump` documents,
dump 2 the next `--dump`; the large index holds `--scale` times as many earlier documents (dump 1 plus more).
All documents are distinct ids; how many of each kind is written in the result.

Each measurement runs exact_dedup then minhash_dedup (the stages' defaults, verification `exact`) on one
`local[2]` session and writes the decisions (noop sink); the index commit of the run is timed separately.
Times are wall seconds and CPU seconds of the whole process tree (driver, JVM, Python workers, from /proc): the
machine is shared, so compare CPU-time ratios. Writes bench/results/dedup_index.json.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import Any

from bench._common import write_result
from bench.dedup_corpus import BUILD
from bench.dedup_scaling import synthetic_corpus
from bench.procmem import _children

_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of `root` and its live descendants."""
    tree, total, stack = _children(), 0, [root]
    while stack:
        pid = stack.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        stack += tree.get(pid, [])
    return total / _TICKS


class Clock:
    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), tree_cpu_seconds(os.getpid())
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_seconds = time.perf_counter() - self.wall
        self.cpu_seconds = tree_cpu_seconds(os.getpid()) - self.cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dump", type=int, default=2000, help="documents per dump")
    parser.add_argument("--scale", type=int, default=10, help="the large index holds scale x dump documents")
    args = parser.parse_args()

    from pyspark.sql import functions as F

    from thresher.dedup.index import DedupIndex
    from thresher.spark import get_spark
    from thresher.stages.base import StageContext
    from thresher.stages.exact_dedup import ExactDedup, ExactDedupParams
    from thresher.stages.minhash_dedup import MinHashDedup, MinHashDedupParams

    spark = get_spark(
        {
            "spark.master": "local[2]",
            "spark.driver.memory": "3g",
            "spark.sql.shuffle.partitions": "8",
            "spark.ui.enabled": "false",
        },
        app_name="bench-dedup-index",
    )
    total = args.dump * (args.scale + 1)
    corpus = spark.read.parquet(str(synthetic_corpus(total))).select("doc_id", "text").cache()
    numbered = corpus.withColumn("n", F.regexp_extract("doc_id", r"(\d+)$", 1).cast("long"))
    # The new dump is the LAST documents: its variants point to earlier documents of any index size.
    new_dump = numbered.where(F.col("n") >= total - args.dump).drop("n")
    small_earlier = numbered.where((F.col("n") >= total - 2 * args.dump) & (F.col("n") < total - args.dump)).drop("n")
    large_earlier = numbered.where(F.col("n") < total - args.dump).drop("n")
    work = BUILD / "index_bench"
    shutil.rmtree(work, ignore_errors=True)

    def dedup(frame, run_id: str, index: Path | None, update: bool) -> tuple[dict[str, Any], Clock]:
        extra = {} if index is None else {"index": str(index), "update_index": update}
        stages = [ExactDedup(ExactDedupParams(**extra)), MinHashDedup(MinHashDedupParams(**extra))]
        metrics: dict[str, Any] = {}
        with Clock() as clock:
            current = frame
            for stage in stages:
                ctx = StageContext(spark, run_id, "filter", 1, str(work / "scratch" / run_id / stage.id))
                decided = stage.apply(current, ctx)
                decided = ctx.materialize(decided, "out")
                current = decided.where(F.col(f"{stage.id}.keep")).drop(stage.id)
                metrics[stage.id] = dict(ctx.metrics)
            kept = current.count()
        metrics["kept"] = kept
        metrics["kept_frame"] = current
        return metrics, clock

    def build_index(frame, path: Path, run_id: str) -> dict[str, Any]:
        metrics, clock = dedup(frame, run_id, path, True)
        with Clock() as commit:
            DedupIndex(spark, str(path)).commit(run_id, ["exact_dedup", "minhash_dedup"], metrics["kept_frame"])
        stats = DedupIndex(spark, str(path)).stats()
        return {
            "kept": metrics["kept"],
            "documents": stats["documents"],
            "bytes": stats["bytes"],
            "bytes_per_document": stats["bytes"] / max(stats["documents"], 1),
            "files": stats["files"],
            "build_wall_seconds": clock.wall_seconds,
            "build_cpu_seconds": clock.cpu_seconds,
            "commit_wall_seconds": commit.wall_seconds,
            "commit_cpu_seconds": commit.cpu_seconds,
        }

    result: dict[str, Any] = {"dump_documents": args.dump, "scale": args.scale, "corpus_documents": total}
    result["small_index"] = build_index(small_earlier, work / "small", "dump1")
    result["large_index"] = build_index(large_earlier, work / "large", "earlier")

    def measured(name: str, metrics: dict[str, Any], clock: Clock) -> dict[str, Any]:
        row = {
            "wall_seconds": clock.wall_seconds,
            "cpu_seconds": clock.cpu_seconds,
            "kept": metrics["kept"],
            "duplicates_of_earlier_runs": sum(
                m.get("duplicates_of_earlier_runs", 0) for k, m in metrics.items() if isinstance(m, dict)
            ),
            "earlier_candidates": metrics["minhash_dedup"].get("earlier_candidates"),
        }
        print(f"{name}: {row}", flush=True)
        return row

    runs = {}
    # Warm-up: the first Spark jobs of a session pay for JIT and Python worker start-up.
    dedup(new_dump.limit(200), "warmup", None, False)
    runs["new_dump_alone"] = measured("new dump, no index", *dedup(new_dump, "alone", None, False))
    runs["new_dump_small_index"] = measured(
        "new dump vs index of dump 1", *dedup(new_dump, "vs-small", work / "small", False)
    )
    runs["one_run_over_both"] = measured(
        "one run over dump 1 + new dump", *dedup(small_earlier.unionByName(new_dump), "both", None, False)
    )
    runs["new_dump_large_index"] = measured(
        f"new dump vs index of {args.scale}x", *dedup(new_dump, "vs-large", work / "large", False)
    )
    result["runs"] = runs
    small, large = runs["new_dump_small_index"], runs["new_dump_large_index"]
    result["ratios"] = {
        "cpu_index_vs_one_run": small["cpu_seconds"] / runs["one_run_over_both"]["cpu_seconds"],
        "cpu_large_vs_small_index": large["cpu_seconds"] / small["cpu_seconds"],
        "wall_large_vs_small_index": large["wall_seconds"] / small["wall_seconds"],
        "cpu_small_index_vs_no_index": small["cpu_seconds"] / runs["new_dump_alone"]["cpu_seconds"],
    }
    # Dump 1 deduplicated alone, then the new dump against its index: the same documents as one run over both?
    result["documents_two_runs"] = result["small_index"]["kept"] + small["kept"]
    result["documents_one_run"] = runs["one_run_over_both"]["kept"]
    result["note"] = "machine shared with other jobs: compare CPU-time ratios"
    print(result["ratios"])
    print(f"results: {write_result('dedup_index', result)}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
