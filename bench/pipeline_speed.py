"""The whole web_en pipeline, thresher against datatrove 0.10.1's equivalent, same input, same cores, same run.

    python -m bench.pipeline_speed [--docs 0] [--rounds 2] [--workers 2]

thresher: `thresher run conf/web_en.yaml` unchanged (url_filter, language, the four rule sets, refine,
url_dedup, exact_dedup, minhash_dedup, pii; report included), Spark `local[<workers>]`.
datatrove (bench/datatrove_pipeline.py, in its own venv): LanguageFilter (the same lid.176.ftz model file,
threshold 0.65), GopherRepetition, GopherQuality, C4Quality, FineWebQuality, FTFYFormatter, URL dedup (3
steps), MinHash dedup (4 steps: signatures, buckets, clusters, filter; 14 x 8 like thresher's default) and
PIIFormatter, each step a LocalPipelineExecutor with `workers` processes and as many tasks. datatrove has no
exact-document dedup step and no cross-document boilerplate-line removal (thresher's exact_dedup and refine),
and its URL filter needs downloaded block lists (thresher's url_filter without lists is a no-op): thresher
does more work here, not less.

The corpus: every distinct real document of ../shared/data (the JSONL corpora plus the main text of the
WARC files' HTML pages), then, with --docs N, documents generated from them (bench/pipeline_corpus.py: random
runs of real lines with 8 % word noise, ~14 % planted exact / near duplicates) up to N in all. Both sides read
the same JSONL files (--files shards: datatrove gives each task whole files).

Measured with the CPU-time harness (bench/_common.py): per side, the CPU seconds of the whole process tree
(driver, JVM and Python workers; datatrove's worker processes), wall seconds, peak resident memory of the tree
and the machine's load average; sides alternate (thresher, datatrove, thresher, ...) for --rounds rounds and
the medians are reported. Headline: MB of input text per CPU second (= MB/s per fully used core) and the ratio
of CPU seconds (datatrove / thresher); wall-based figures beside them. Writes bench/results/pipeline_speed.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from bench._common import (
    REFERENCE_PYTHON,
    ROOT,
    alternate_rounds,
    check_reference,
    machine,
    measure_command,
    medians,
    write_result,
)
from bench.pipeline_corpus import BUILD, real_documents, scaled_documents, write_jsonl

WORK = BUILD / "speed"
CONFIG = ROOT / "conf" / "web_en.yaml"
REFERENCE_PIPELINE = ROOT / "bench" / "datatrove_pipeline.py"
TARGET_MB_PER_CORE_SECOND = 2.0
TARGET_RATIO = 10.0


def build_corpus(docs: int, files: int) -> dict[str, Any]:
    """The corpus as `files` JSONL shards (round robin), so that both sides can split it across their workers."""
    real = real_documents()
    generated = scaled_documents(real, max(0, docs - len(real)), seed=16)
    rows = [{"id": d["id"], "text": d["text"], "url": d["url"]} for d in itertools.chain(real, generated)]
    folder = WORK / "input"
    shutil.rmtree(folder, ignore_errors=True)
    text_bytes = 0
    for shard in range(files):
        text_bytes += write_jsonl(rows[shard::files], folder / f"part-{shard:03d}.jsonl")[1]
    return {
        "folder": str(folder),
        "glob": "*.jsonl",
        "files": files,
        "documents": len(rows),
        "real_distinct_documents": len(real),
        "real_distinct_mb": sum(len(d["text"].encode("utf-8")) for d in real) / 1e6,
        "real_from_warc": sum(d["id"].startswith("warc:") for d in real),
        "text_mb": text_bytes / 1e6,
        "file_mb": sum(path.stat().st_size for path in folder.glob("*.jsonl")) / 1e6,
    }


def thresher_stage_seconds(output: Path) -> dict[str, float]:
    """Wall seconds per stage, from the run's stats table (each stage's row carries its timing); empty (and a
    warning) when the table cannot be read, so that a benchmark's measurements are never lost to it."""
    import pyarrow.dataset as ds

    try:
        table = ds.dataset(str(output / "stats"), format="parquet", exclude_invalid_files=True).to_table(
            columns=["stage", "wall_seconds"]
        )
    except (OSError, ValueError, KeyError) as error:
        print(f"warning: stats table of {output} not read: {error}", file=sys.stderr)
        return {}
    stages, seconds = table.column("stage").to_pylist(), table.column("wall_seconds").to_pylist()
    return {stage: float(value or 0.0) for stage, value in zip(stages, seconds, strict=True)}


def run_web_en(
    input_glob: str, output: Path, workers: int, driver_memory: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`thresher run conf/web_en.yaml` under the CPU-time harness: (the measurements, the run's manifest)."""
    shutil.rmtree(output, ignore_errors=True)
    command = [
        str(Path(sys.executable).with_name("thresher")),
        "-q",
        "run",
        str(CONFIG),
        "--input",
        input_glob,
        "--output",
        str(output),
        "--spark-conf",
        f"spark.master=local[{workers}]",
        "--spark-conf",
        f"spark.driver.memory={driver_memory}",
    ]
    usage = measure_command(command)
    if usage.returncode != 0:
        raise SystemExit(f"thresher failed on {input_glob} ({usage.returncode}):\n{usage.stderr[-4000:]}")
    manifest = json.loads((output / "manifest.json").read_text())
    measured = {
        **usage.summary(),
        "stage_wall_seconds": thresher_stage_seconds(output),
        "segment_wall_seconds": {name: s.get("wall_seconds") for name, s in manifest["segments"].items()},
        # Statistics' share of each segment (issue 16's target: <= 10 %).
        "segment_stats_seconds": {name: s.get("stats_seconds") for name, s in manifest["segments"].items()},
    }
    return measured, manifest


def run_thresher(corpus: dict[str, Any], workers: int, driver_memory: str) -> dict[str, Any]:
    input_glob = str(Path(corpus["folder"]) / corpus["glob"])
    measured, manifest = run_web_en(input_glob, WORK / "thresher_out", workers, driver_memory)
    return {**measured, "documents_out": manifest["totals"].get("output_records", manifest["totals"].get("kept"))}


def run_datatrove(corpus: dict[str, Any], workers: int) -> dict[str, Any]:
    from thresher.stages.quality.language import bundled_model_path

    work = WORK / "datatrove_out"
    shutil.rmtree(work, ignore_errors=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [str(REFERENCE_PYTHON), str(REFERENCE_PIPELINE), corpus["folder"], str(work), bundled_model_path()]
    usage = measure_command([*command, "--workers", str(workers)], env=env)
    if usage.returncode != 0:
        raise SystemExit(f"datatrove failed ({usage.returncode}):\n{usage.stderr[-4000:]}")
    summary = json.loads((work / "summary.json").read_text())
    return {
        **usage.summary(),
        "documents_out": summary["documents_out"],
        "step_wall_seconds": summary["step_wall_seconds"],
    }


def per_side(side: dict[str, Any], corpus: dict[str, Any], workers: int) -> dict[str, Any]:
    return {
        **side,
        "mb_per_cpu_second": corpus["text_mb"] / side["cpu_seconds"],
        "mb_per_second_per_core_wall": corpus["text_mb"] / side["wall_seconds"] / workers,
        "cpu_ms_per_document": 1000 * side["cpu_seconds"] / corpus["documents"],
        "cores_busy": side["cpu_seconds"] / side["wall_seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=0, help="generate documents up to this many (0: real only)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per side (median reported)")
    parser.add_argument("--workers", type=int, default=2, help="cores: local[N] / datatrove workers and tasks")
    parser.add_argument("--files", type=int, default=8, help="JSONL shards of the corpus (both sides split by file)")
    parser.add_argument("--driver-memory", default="4g")
    args = parser.parse_args()
    check_reference()
    corpus = build_corpus(args.docs, args.files)
    print(
        f"{corpus['documents']:,} documents, {corpus['text_mb']:.1f} MB of text "
        f"({corpus['real_distinct_documents']:,} distinct real documents, {corpus['real_distinct_mb']:.1f} MB, "
        f"{corpus['real_from_warc']} of them from WARC pages; the rest generated from them)",
        flush=True,
    )
    rounds = alternate_rounds(
        {
            "thresher": lambda: run_thresher(corpus, args.workers, args.driver_memory),
            "datatrove": lambda: run_datatrove(corpus, args.workers),
        },
        args.rounds,
        log=WORK / "rounds.jsonl",
    )
    mine = per_side(medians(rounds["thresher"]), corpus, args.workers)
    theirs = per_side(medians(rounds["datatrove"]), corpus, args.workers)
    result = {
        "corpus": corpus,
        "workers": args.workers,
        "rounds": rounds,
        "machine": machine(),
        "thresher": mine,
        "datatrove": theirs,
        "ratio_cpu": theirs["cpu_seconds"] / mine["cpu_seconds"],
        "ratio_wall": theirs["wall_seconds"] / mine["wall_seconds"],
        "targets": {"mb_per_cpu_second": TARGET_MB_PER_CORE_SECOND, "ratio_cpu": TARGET_RATIO},
    }
    path = write_result("pipeline_speed", result)
    for name, side in (("thresher", mine), ("datatrove", theirs)):
        print(
            f"{name:10s} {side['cpu_seconds']:8.1f} CPU s  {side['wall_seconds']:7.1f} wall s  "
            f"{side['mb_per_cpu_second']:6.3f} MB/s per core (CPU)  {side['mb_per_second_per_core_wall']:6.3f} "
            f"(wall)  {side['cpu_ms_per_document']:6.2f} CPU ms/doc  peak {side['peak_rss_mb']:6.0f} MB  "
            f"load {side['load_average_mean']:.1f}"
        )
    print(f"datatrove / thresher: {result['ratio_cpu']:.1f}x CPU (headline), {result['ratio_wall']:.1f}x wall")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
