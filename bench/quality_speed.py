"""Throughput of the four heuristic rule sets: thresher (end to end through Spark, local[1], one fused pass over
Arrow batches) against datatrove 0.10.1's GopherRepetition / GopherQuality / C4Quality / FineWebQuality filters,
on the same documents, each pinned to one core, in the same run.

    python -m bench.quality_speed [--docs 50000] [--reference-docs N] [--sequential]

The corpus is ../shared/data repeated (ids made unique) to at least --docs documents. Both sides run every rule
set on every document: thresher in annotate mode (c4_quality last, as it rewrites text), the reference calls each
filter on a fresh copy of each document. Reported: docs/s of thresher's fused pass (reading its input checkpoint,
the four rule sets, writing and committing its output checkpoint), of the whole thresher run (ingest, stats and
final tables included), of the reference, the ratio, and thresher's in-process (no Spark) docs/s on the distinct
documents only, where its word cache starts empty. Writes bench/results/quality_speed.json.

With two cores the two sides run side by side (thresher on core 0, the reference on core 1) unless --sequential.
--reference-docs caps the reference's share: it then runs on the first whole repetitions of the same corpus (the
same mix of documents, which repeats every ~2,400): at ~60 docs/s, 50,000 documents take it ~14 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench._common import REFERENCE_PYTHON, REFERENCE_SCRIPT, ROOT, check_reference, corpora, write_result

WORK = ROOT / "build" / "bench" / "quality_speed"
STAGES = ("gopher_repetition", "gopher_quality", "fineweb_quality", "c4_quality")
TARGET_RATIO = 10.0


def build_corpus(target: int, path: Path) -> tuple[int, int]:
    """Repeat the shared corpora until `target` documents; returns (documents written, distinct documents)."""
    docs = [
        {"id": f"{source.stem}:{record['id']}", "text": record["text"]}
        for source in corpora()
        for record in map(json.loads, source.open())
    ]
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as sink:
        repetition = 0
        while written < target:
            for doc in docs:
                sink.write(json.dumps({"id": f"{doc['id']}#{repetition}", "text": doc["text"]}) + "\n")
                written += 1
            repetition += 1
    return written, len(docs)


def _pinned(core: int | None) -> list[str]:
    return ["taskset", "-c", str(core)] if core is not None and shutil.which("taskset") else []


def _cores() -> tuple[int | None, int | None]:
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(available) >= 2:
        return available[0], available[1]
    return (available[0], available[0]) if available else (None, None)


def start_reference(corpus: Path, docs: int, core: int | None) -> tuple[subprocess.Popen, Path, float]:
    source = corpus
    if docs:
        source = WORK / "reference_input.jsonl"
        with corpus.open() as full, source.open("w") as part:
            for _, line in zip(range(docs), full, strict=False):
                part.write(line)
    out = WORK / "reference.json"
    out.unlink(missing_ok=True)
    command = [*_pinned(core), str(REFERENCE_PYTHON), str(REFERENCE_SCRIPT), "speed", str(out), str(source)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.Popen(command, env=env), out, time.perf_counter()


def run_thresher(corpus: Path, core: int | None) -> dict[str, Any]:
    config = WORK / "pipeline.yaml"
    config.write_text(
        "run: {mode: annotate, batch_size: 1000, report: false}\n"
        "input: {path: corpus.jsonl, format: jsonl}\n"
        "spark:\n  spark.sql.shuffle.partitions: 1\n  spark.default.parallelism: 1\n"
        "stages:\n" + "".join(f"  {stage}: {{}}\n" for stage in STAGES)
    )
    output = WORK / "run"
    shutil.rmtree(output, ignore_errors=True)
    command = [
        *_pinned(core),
        str(Path(sys.executable).with_name("thresher")),
        "-q",
        "run",
        str(config),
        "--input",
        str(corpus),
        "--output",
        str(output),
        "--spark-conf",
        "spark.master=local[1]",
        "--spark-conf",
        "spark.driver.memory=2g",
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    manifest = json.loads((output / "manifest.json").read_text())
    segment = next(name for name in manifest["segments"] if name != "00_ingest")
    return {
        "run_wall_seconds": wall,
        "fused_pass_wall_seconds": manifest["segments"][segment]["wall_seconds"],
        "ingest_wall_seconds": manifest["segments"]["00_ingest"]["wall_seconds"],
        "stage_seconds": manifest["segments"][segment].get("stage_seconds", {}),
        "docs": manifest["totals"]["input_records"],
    }


def in_process_cold(distinct: int, corpus: Path) -> dict[str, float]:
    """The four rule sets on the distinct documents in this process, word cache empty: no Spark, no repetition."""
    import pyarrow as pa

    from thresher.stages.fused import FusedPass
    from thresher.stages.registry import stage_class

    docs = [json.loads(line) for _, line in zip(range(distinct), corpus.open(), strict=False)]
    fused = FusedPass([stage_class(s)() for s in STAGES], "annotate")  # type: ignore[misc]
    batches = [pa.RecordBatch.from_pylist(docs[i : i + 1000]) for i in range(0, len(docs), 1000)]
    wall, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        fused.run_batch(batch)
    return {
        "docs": len(docs),
        "wall_seconds": time.perf_counter() - wall,
        "cpu_seconds": time.process_time() - cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=50_000, help="documents (default 50,000)")
    parser.add_argument(
        "--reference-docs",
        type=int,
        default=0,
        help="cap the reference's documents, rounded up to whole repetitions of the corpora (0: all)",
    )
    parser.add_argument("--sequential", action="store_true", help="run the reference after thresher, same core")
    args = parser.parse_args()
    check_reference()
    WORK.mkdir(parents=True, exist_ok=True)
    corpus = WORK / "corpus.jsonl"
    docs, distinct = build_corpus(args.docs, corpus)
    reference_docs = 0
    if args.reference_docs:
        reference_docs = min(docs, -(-args.reference_docs // distinct) * distinct)
    thresher_core, reference_core = _cores()
    if args.sequential:
        reference_core = thresher_core
    print(f"{docs} documents ({distinct} distinct); thresher on core {thresher_core}, reference on {reference_core}")
    cold = in_process_cold(distinct, corpus)
    reference = None
    if not args.sequential:
        reference = start_reference(corpus, reference_docs, reference_core)
    mine = run_thresher(corpus, thresher_core)
    if reference is None:
        reference = start_reference(corpus, reference_docs, reference_core)
    process, out, started = reference
    if process.wait() != 0:
        raise SystemExit("the reference run failed")
    theirs = json.loads(out.read_text())
    theirs["wall_seconds_with_start"] = time.perf_counter() - started
    fused_rate = mine["docs"] / mine["fused_pass_wall_seconds"]
    run_rate = mine["docs"] / mine["run_wall_seconds"]
    reference_rate = theirs["docs_per_second"]
    result = {
        "documents": docs,
        "distinct_documents": distinct,
        "reference_documents": theirs["docs"],
        "cores": {"thresher": thresher_core, "reference": reference_core, "side_by_side": not args.sequential},
        "thresher": {
            **mine,
            "fused_pass_docs_per_second": fused_rate,
            "run_docs_per_second": run_rate,
            "in_process_cold": {**cold, "docs_per_cpu_second": cold["docs"] / cold["cpu_seconds"]},
        },
        "reference": theirs,
        "ratio_fused_pass": fused_rate / reference_rate,
        "ratio_whole_run": run_rate / reference_rate,
        "target_ratio": TARGET_RATIO,
    }
    path = write_result("quality_speed", result)
    lines = [
        (f"reference (datatrove, {theirs['docs']} docs)", reference_rate),
        ("thresher fused pass (Spark local[1])", fused_rate),
        ("thresher whole run (ingest, stats included)", run_rate),
        ("thresher in process, cold word cache", cold["docs"] / cold["wall_seconds"]),
    ]
    for label, rate in lines:
        print(f"{label:46} {rate:8.1f} docs/s  ({rate / reference_rate:.1f}x the reference)")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
