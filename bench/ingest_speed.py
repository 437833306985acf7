"""JSON-lines ingest speed: thresher's reader before (main's line-by-line reader) and after (byte-range splits,
block reads, column-wise Arrow) vs Spark's own JSON reader and pyarrow.json, on the same file in the same run.

    python -m bench.ingest_speed [--mb 150] [--rounds 2] [--split-mb 32] [--before-lib /work/main/lib]

The corpus: distinct documents made from the shared real corpora (each document's paragraphs in a new order plus
a paragraph of another document, new id; duplicates dropped), one plain .jsonl file of about `--mb` MB; also a
.zst copy for thresher's one-task-per-file path. Each reader runs in its own process (a fresh Spark on local[2]
for the Spark readers) and consumes every column (Spark's `noop` sink). Measured: wall seconds of the read and
the CPU seconds of the process tree during it (driver, JVM, Python workers; /proc utime+stime, reaped children
included), after start-up. The headline is MB per CPU second ("MB/s per core"): the machine is shared, and CPU
time holds under load better than wall time; the load average is recorded. Writes bench/results/ingest_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from bench._common import RESULTS, ROOT, SHARED_DATA, write_result

WORK = ROOT / "build" / "bench" / "ingest_speed"
READERS = ("thresher_before", "thresher_after", "thresher_after_zst", "spark_read_json", "pyarrow_json")
_TICKS = os.sysconf("SC_CLK_TCK")


# -- CPU time of a process tree (/proc) ---------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return int(fields[1]), (utime + stime + cutime + cstime) / _TICKS


def tree_cpu_seconds(root: int) -> float:
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found:
                stats[int(entry.name)] = found
    total, todo, seen = 0.0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        total += stats[pid][1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == pid)
    return total


# -- corpus ---------------------------------------------------------------------------------------------------------


def build_corpus(target_mb: float, path: Path) -> dict[str, Any]:
    originals = []
    for source in sorted(SHARED_DATA.glob("*.jsonl")):
        for line in source.open("rb"):
            record = orjson.loads(line)
            text = record.get("text")
            if isinstance(text, str) and text.strip():
                originals.append((source.stem, record))
    if not originals:
        raise SystemExit(f"no corpora in {SHARED_DATA} (set THRESHER_SHARED_DATA)")
    rng = random.Random(0)
    seen: set[int] = set()
    written = docs = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as sink:
        while written < target_mb * 1e6:
            stem, record = originals[docs % len(originals)]
            paragraphs = record["text"].split("\n")
            rng.shuffle(paragraphs)
            other = rng.choice(originals)[1]["text"].split("\n")
            text = "\n".join([*paragraphs, rng.choice(other)])
            if hash(text) in seen:
                docs += 1
                continue
            seen.add(hash(text))
            out = {
                "id": f"{stem}:{record.get('id')}:{docs}",
                "text": text,
                "url": record.get("url") if isinstance(record.get("url"), str) else f"https://example.org/{docs}",
                "source_corpus": stem,
                "length": len(text),
            }
            line = orjson.dumps(out) + b"\n"
            sink.write(line)
            written += len(line)
            docs += 1
    return {"documents": len(seen), "distinct_documents": len(seen), "bytes": path.stat().st_size}


def compress_zst(path: Path) -> Path:
    import zstandard

    target = path.with_suffix(".jsonl.zst")
    if not target.exists():
        with path.open("rb") as source, target.open("wb") as sink:
            zstandard.ZstdCompressor(level=3).copy_stream(source, sink)
    return target


# -- one reader in this process (called by the parent in a subprocess) ----------------------------------------------


def _spark():
    from thresher.spark import get_spark

    return get_spark({"spark.master": "local[2]", "spark.ui.enabled": "false"}, app_name="ingest-speed")


def run_reader(reader: str, corpus: Path, split_mb: float) -> dict[str, Any]:
    me = os.getpid()
    if reader == "pyarrow_json":
        import pyarrow as pa
        import pyarrow.json as pj

        schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("url", pa.string())])
        options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
        cpu, wall = tree_cpu_seconds(me), time.perf_counter()
        rows = pj.read_json(corpus, parse_options=options).num_rows
        return {"rows": rows, "cpu_seconds": tree_cpu_seconds(me) - cpu, "wall_seconds": time.perf_counter() - wall}
    spark = _spark()
    # Warm the JVM and the Python workers so that start-up stays out of the measurement.
    spark.range(100, numPartitions=2).mapInArrow(lambda batches: batches, "id long").count()
    if reader == "spark_read_json":
        schema = "id string, text string, url string, source_corpus string, length long"
        frame = spark.read.schema(schema).json(str(corpus))
    else:
        from thresher.conf import InputConfig
        from thresher.io.ingest import read_records
        from thresher.io.inputs import plan_inputs

        settings: dict[str, Any] = {"path": str(corpus), "format": "jsonl"}
        if reader.startswith("thresher_after"):
            settings["split_mb"] = split_mb
        cpu, wall = tree_cpu_seconds(me), time.perf_counter()
        frame = read_records(spark, plan_inputs(spark, (InputConfig(**settings),)), None)  # type: ignore[arg-type]
    if reader == "spark_read_json":
        cpu, wall = tree_cpu_seconds(me), time.perf_counter()
    partitions = frame.rdd.getNumPartitions()
    frame.write.format("noop").mode("overwrite").save()
    result = {
        "cpu_seconds": tree_cpu_seconds(me) - cpu,
        "wall_seconds": time.perf_counter() - wall,
        "tasks": partitions,
    }
    spark.stop()
    return result


# -- the parent --------------------------------------------------------------------------------------------------


def _measure(reader: str, corpus: Path, split_mb: float, before_lib: Path) -> dict[str, Any]:
    env = dict(os.environ)
    if reader == "thresher_before":
        env["PYTHONPATH"] = os.pathsep.join([str(before_lib), str(ROOT)])
    else:
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "lib"), str(ROOT)])
    command = [sys.executable, "-m", "bench.ingest_speed", "--worker", reader, "--corpus", str(corpus)]
    command += ["--split-mb", str(split_mb)]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{reader} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--split-mb", type=float, default=32)
    parser.add_argument("--before-lib", type=Path, default=ROOT.parent / "main" / "lib")
    parser.add_argument("--readers", nargs="*", default=list(READERS))
    parser.add_argument("--worker", choices=READERS)
    parser.add_argument("--corpus", type=Path)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_reader(args.worker, args.corpus, args.split_mb)))
        return
    corpus = WORK / f"corpus_{int(args.mb)}mb.jsonl"
    info_path = corpus.with_suffix(".info.json")
    if not corpus.exists() or not info_path.exists():
        info = build_corpus(args.mb, corpus)
        info_path.write_text(json.dumps(info))
    info = json.loads(info_path.read_text())
    zst = compress_zst(corpus)
    readers = [r for r in args.readers if r != "thresher_before" or (args.before_lib / "thresher").is_dir()]
    runs: dict[str, list[dict[str, Any]]] = {r: [] for r in readers}
    loads = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for reader in readers:  # alternating rounds: each reader once per round
            path = zst if reader == "thresher_after_zst" else corpus
            measured = _measure(reader, path, args.split_mb, args.before_lib)
            print(reader, measured, flush=True)
            runs[reader].append(measured)
            loads.append(os.getloadavg()[0])
    megabytes = info["bytes"] / 1e6
    summary = {}
    for reader, measured in runs.items():
        cpu = statistics.median(m["cpu_seconds"] for m in measured)
        wall = statistics.median(m["wall_seconds"] for m in measured)
        summary[reader] = {
            "cpu_seconds": round(cpu, 2),
            "wall_seconds": round(wall, 2),
            "mb_per_cpu_second": round(megabytes / cpu, 1),
            "mb_per_second_wall": round(megabytes / wall, 1),
            "rows": measured[0].get("rows"),
            "tasks": measured[0].get("tasks"),
        }
    previous = RESULTS / "ingest_speed.json"
    if set(readers) != set(READERS) and previous.exists():
        # A re-measurement of some readers keeps the others' numbers from the last full run (and says so).
        earlier = json.loads(previous.read_text())
        summary = {**earlier["readers"], **summary}
        runs = {**earlier["runs"], **runs}
        loads += [earlier["load_average_1min"]["min"], earlier["load_average_1min"]["max"]]
    ratios = {}
    if "thresher_after" in summary:
        after = summary["thresher_after"]["cpu_seconds"]
        ratios = {f"cpu_{name}_over_thresher_after": round(s["cpu_seconds"] / after, 2) for name, s in summary.items()}
    result = {
        "corpus": {**info, "megabytes": round(megabytes, 1), "zst_bytes": zst.stat().st_size},
        "split_mb": args.split_mb,
        "rounds": args.rounds,
        "remeasured": sorted(readers) if set(readers) != set(READERS) else [],
        "spark_master": "local[2]",
        "load_average_1min": {"min": min(loads), "max": max(loads), "median": statistics.median(loads)},
        "cores": os.cpu_count(),
        "readers": summary,
        "ratios": ratios,
        "runs": runs,
        "note": "MB/s per core = corpus MB / CPU seconds of the process tree during the read (median of rounds); "
        "shared machine, see load_average_1min",
    }
    path = write_result("ingest_speed", result)
    print(json.dumps({"readers": summary, "ratios": ratios, "load": result["load_average_1min"]}, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
