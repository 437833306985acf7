"""Speed and peak memory of near-dedup on the same documents and machine: thresher's minhash_dedup vs Spark
MLlib's MinHashLSH (approxSimilarityJoin) vs datasketch's MinHashLSH in one Python process.

    python -m bench.dedup_speed [--variants 12] [--impl thresher mllib datasketch]
    python -m bench.dedup_speed --only signatures [--variants 12]    # the signature pass alone, no Spark

The documents: the near-duplicate benchmark's construction (bench/dedup_corpus.py) with up to `--variants`
variants per real document. Each implementation runs in its own process (a fresh JVM for the Spark ones,
`local[2]`, driver memory 3g); its peak memory is the resident memory of its whole process tree (driver,
JVM, Python workers) sampled every 0.2 s; docs/s counts the time from reading the documents to the result,
without the Spark session start-up. What each computes:

* thresher: the full stage with its defaults (word 5-gram shingles after FineWeb normalization, 112
  permutations, 14 x 8 bands, exact verification at 0.8, connected components, keep decision per document).
* MLlib: Spark-native FineWeb-like normalization (no accent stripping), NGram(5), HashingTF(2^24, binary),
  MinHashLSH(5 hash tables), approxSimilarityJoin at Jaccard distance 0.2 (pairs only, no clusters).
* datasketch (needs `pip install -c constraints.txt '.[bench]'`): thresher's normalization, 5-gram shingles
  as bytes, MinHash.bulk(112 permutations), MinHashLSH(14 x 8), a query per document, union-find clusters.

Each worker runs under the CPU-time harness (bench/_common.py): besides wall time and peak memory, the CPU
seconds of its whole process tree between reading the documents and the result (`cpu_seconds`: driver, JVM,
Python workers; the session start-up excluded) give documents per CPU second, the load-independent figure; the
thresher / MLlib ratios are reported both ways. Signatures per second per core: thresher's signature pass
(FineWeb normalization, word 5-gram shingles, 112 permutations, 14 x 8 band keys: the stage's own batch function,
`MinHashBatches`) in this process, single-threaded, per CPU second (median of 3 passes), on the distinct texts
of the speed corpus (`signatures`) and on the 2,950 distinct real documents (`signatures_real`); and the
whole stage's documents per CPU second of the tree (signatures, candidates, exact verification, components,
decisions), the end-to-end figure. Targets (issue 16): >= 10k signatures/s/core, >= 5x MLlib.

Writes bench/results/dedup_speed.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench._common import machine, measure_command
from bench.dedup_corpus import BUILD, RESULTS, build_corpus, write_files

IMPLEMENTATIONS = ("thresher", "mllib", "datasketch")


def spark_session(driver_memory: str):
    from thresher.spark import get_spark

    conf = {
        "spark.master": "local[2]",
        "spark.driver.memory": driver_memory,
        "spark.sql.shuffle.partitions": "16",
        "spark.ui.enabled": "false",
    }
    return get_spark(conf, app_name="bench-dedup")


def run_thresher(corpus: str, driver_memory: str) -> dict[str, float]:
    from thresher.stages.base import StageContext
    from thresher.stages.minhash_dedup import MinHashDedup

    spark = spark_session(driver_memory)
    scratch = BUILD / "scratch-speed"
    shutil.rmtree(scratch, ignore_errors=True)
    started = time.perf_counter()
    frame = spark.read.parquet(corpus).select("doc_id", "text")
    ctx = StageContext(spark, "bench", "filter", 1, str(scratch))
    out, report = MinHashDedup().apply(frame, ctx)
    out.write.format("noop").mode("overwrite").save()
    seconds = time.perf_counter() - started
    shutil.rmtree(scratch, ignore_errors=True)
    return {"seconds": seconds, "duplicates": report.metrics["duplicates"], "clusters": report.metrics["clusters"]}


def run_mllib(corpus: str, driver_memory: str) -> dict[str, float]:
    from pyspark.ml.feature import HashingTF, MinHashLSH, NGram
    from pyspark.sql import functions as F

    spark = spark_session(driver_memory)
    started = time.perf_counter()
    frame = spark.read.parquet(corpus).select("doc_id", "text")
    text = F.lower(F.col("text"))
    text = F.regexp_replace(text, r"[\p{P}\p{S}]+", " ")
    text = F.regexp_replace(text, r"\p{Nd}+", "0")
    words = F.filter(F.split(F.trim(text), r"\s+"), lambda w: w != "")
    frame = frame.select("doc_id", words.alias("words"))
    shingles = NGram(n=5, inputCol="words", outputCol="shingles").transform(frame)
    shingles = shingles.where(F.size("shingles") > 0)
    vectors = HashingTF(inputCol="shingles", outputCol="features", numFeatures=1 << 24, binary=True).transform(
        shingles
    )
    model = MinHashLSH(inputCol="features", outputCol="hashes", numHashTables=5, seed=1).fit(vectors)
    pairs = model.approxSimilarityJoin(vectors, vectors, 0.2, distCol="distance")
    pairs = pairs.where(F.col("datasetA.doc_id") < F.col("datasetB.doc_id"))
    found = pairs.count()
    return {"seconds": time.perf_counter() - started, "pairs": float(found)}


def run_datasketch(corpus: str) -> dict[str, float]:
    from datasketch import MinHash, MinHashLSH

    from thresher.dedup.normalize import FINEWEB_NORMALIZATION, normalize_texts

    table = pq.read_table(corpus, columns=["doc_id", "text"])  # a directory of Parquet files
    started = time.perf_counter()
    ids = table.column("doc_id").to_pylist()
    shingle_lists = []
    for batch in table.column("text").chunks:
        for start in range(0, len(batch), 1000):
            normalized = normalize_texts(pa.array(batch[start : start + 1000]), FINEWEB_NORMALIZATION).to_pylist()
            for text in normalized:
                words = text.split(" ") if text else []
                if len(words) < 5:
                    shingle_lists.append([" ".join(words).encode()] if words else [])
                else:
                    shingle_lists.append([" ".join(words[i : i + 5]).encode() for i in range(len(words) - 4)])
    signatures = MinHash.bulk(shingle_lists, num_perm=112)
    lsh = MinHashLSH(num_perm=112, params=(14, 8))
    for doc_id, signature in zip(ids, signatures, strict=True):
        lsh.insert(doc_id, signature)
    parent = {doc_id: doc_id for doc_id in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    pairs = 0
    for doc_id, signature in zip(ids, signatures, strict=True):
        for other in lsh.query(signature):
            if other > doc_id:
                pairs += 1
                a, b = find(doc_id), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    duplicates = sum(1 for doc_id in ids if find(doc_id) != doc_id)
    return {"seconds": time.perf_counter() - started, "pairs": float(pairs), "duplicates": float(duplicates)}


def worker(impl: str, corpus: str, driver_memory: str) -> None:
    if impl == "thresher":
        result = run_thresher(corpus, driver_memory)
    elif impl == "mllib":
        result = run_mllib(corpus, driver_memory)
    else:
        result = run_datasketch(corpus)
    # The measured span (wall-clock instants) for the harness's CPU timeline: from reading to the result.
    result["finished_unix"] = time.time()
    result["started_unix"] = result["finished_unix"] - result["seconds"]
    print("RESULT " + json.dumps(result), flush=True)


def signature_rate(texts: list[str], repeats: int = 3) -> dict[str, float]:
    """thresher's signature pass (the stage's batch function with its default settings) in this process, on
    `texts` in batches of 1,000; the CPU seconds are the median of `repeats` passes."""
    from thresher.dedup.batches import MinHashBatches, MinHashSettings
    from thresher.dedup.columns import RANK
    from thresher.schema import DOC_ID, TEXT
    from thresher.stages.minhash_dedup import MinHashDedup

    p = MinHashDedup().params
    bands, rows = p.banding()
    settings = MinHashSettings(p.normalization, p.unit, p.ngram, p.num_perm, bands, rows, p.seed)
    table = pa.table(
        {
            DOC_ID: pa.array([f"doc-{i}" for i in range(len(texts))]),
            TEXT: pa.array(texts, pa.string()),
            RANK: pa.array(range(len(texts)), pa.int64()),
        }
    )
    batches = table.to_batches(max_chunksize=1000)
    signer = MinHashBatches(settings)
    signer.run_batch(batches[0])  # the permutations and the normalizer's tables, outside the timing
    cpus, walls = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for batch in batches:
            signer.run_batch(batch)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    cpu, wall = statistics.median(cpus), statistics.median(walls)
    text_bytes = sum(len(t.encode()) for t in texts)
    return {
        "documents": len(texts),
        "mean_document_kb": text_bytes / 1e3 / max(1, len(texts)),
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "signatures_per_cpu_second": len(texts) / cpu,
        "text_mb_per_cpu_second": text_bytes / 1e6 / cpu,
    }


def distinct_texts(texts: list[str]) -> list[str]:
    """The texts without repeats (first occurrence kept): a repeated text would be cheaper in caches."""
    return list(dict.fromkeys(texts))


def real_texts() -> list[str]:
    """Every distinct real document of ../shared/data (the pipeline benchmark's 2,950: JSONL corpora and the
    main text of the WARC files' HTML pages)."""
    from bench.pipeline_corpus import real_documents

    return distinct_texts([d["text"] for d in real_documents()])


def corpus_texts(corpus: Path) -> list[str]:
    return distinct_texts(pq.read_table(corpus, columns=["text"]).column("text").to_pylist())


def print_signatures(name: str, r: dict[str, float]) -> None:
    print(
        f"thresher signatures, {name}: {r['signatures_per_cpu_second']:,.0f} per CPU second on {r['documents']:,} "
        f"distinct documents (mean {r['mean_document_kb']:.1f} KB; {r['cpu_seconds']:.2f} CPU s, "
        f"{r['text_mb_per_cpu_second']:.2f} MB/s per core; target >= 10,000)",
        flush=True,
    )


def measure(impl: str, corpus: Path, documents: int, driver_memory: str = "3g") -> dict[str, float]:
    command = [sys.executable, "-m", "bench.dedup_speed", "--worker", impl, "--corpus", str(corpus)]
    command += ["--driver-memory", driver_memory]
    measured = measure_command(command)
    lines = [line for line in measured.stdout.splitlines() if line.startswith("RESULT ")]
    if measured.returncode != 0 or not lines:
        raise SystemExit(f"{impl} failed ({measured.returncode}):\n{measured.stderr[-4000:]}")
    result = json.loads(lines[-1][len("RESULT ") :])
    cpu = measured.cpu_between(result["started_unix"], result["finished_unix"])
    return {
        **result,
        "documents": documents,
        "docs_per_second": documents / result["seconds"],
        "cpu_seconds": cpu,
        "docs_per_cpu_second": documents / cpu,
        "cpu_seconds_with_startup": measured.cpu_seconds,
        "wall_seconds_with_startup": measured.wall_seconds,
        "peak_rss_mb": measured.peak_rss_bytes / 2**20,
        "load_average_mean": measured.load_average_mean,
    }


def speed_corpus(variants: int) -> tuple[Path, int]:
    path = BUILD / f"speed_corpus_{variants}"
    if not path.exists():
        docs = build_corpus(seed=1, max_variants=variants)
        write_files(pa.Table.from_pylist([{"doc_id": d["doc_id"], "text": d["text"]} for d in docs]), path)
    return path, sum(pq.read_metadata(f).num_rows for f in path.glob("*.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", type=int, default=12, help="up to this many variants per real document")
    parser.add_argument("--impl", nargs="+", choices=IMPLEMENTATIONS, default=list(IMPLEMENTATIONS))
    parser.add_argument(
        "--only",
        choices=("signatures",),
        help="signatures: only the signature pass, on the real documents and on the speed corpus (no Spark)",
    )
    parser.add_argument("--worker", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--driver-memory", default="3g", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.corpus, args.driver_memory)
        return
    corpus, documents = speed_corpus(args.variants)
    if args.only == "signatures":
        results = {"signatures_real": signature_rate(real_texts()), "signatures": signature_rate(corpus_texts(corpus))}
        print_signatures("real documents", results["signatures_real"])
        print_signatures(f"speed corpus (--variants {args.variants})", results["signatures"])
        RESULTS.mkdir(parents=True, exist_ok=True)
        summary = {"documents": documents, "machine": machine(), **results}
        (RESULTS / "dedup_speed_signatures.json").write_text(json.dumps(summary, indent=2) + "\n")
        return
    results = {}
    for impl in args.impl:
        results[impl] = measure(impl, corpus, documents)
        r = results[impl]
        print(
            f"{impl:10s} {documents} docs  {r['seconds']:7.1f} s  {r['docs_per_second']:8.0f} docs/s  "
            f"{r['cpu_seconds']:7.1f} CPU s  {r['docs_per_cpu_second']:7.0f} docs/CPU s  "
            f"peak {r['peak_rss_mb']:6.0f} MB  load {r['load_average_mean']:.1f}",
            flush=True,
        )
    if "thresher" in results and "mllib" in results:
        ratio = results["thresher"]["docs_per_second"] / results["mllib"]["docs_per_second"]
        results["thresher_vs_mllib_speed"] = ratio
        cpu_ratio = results["thresher"]["docs_per_cpu_second"] / results["mllib"]["docs_per_cpu_second"]
        results["thresher_vs_mllib_cpu"] = cpu_ratio
        print(f"thresher / MLlib: {cpu_ratio:.2f}x per CPU second (headline), {ratio:.2f}x docs/s wall")
    if "thresher" in args.impl:
        results["signatures_real"] = signature_rate(real_texts())
        results["signatures"] = signature_rate(corpus_texts(corpus))
        print_signatures("real documents", results["signatures_real"])
        print_signatures(f"speed corpus (--variants {args.variants})", results["signatures"])
        print(f"thresher whole stage: {results['thresher']['docs_per_cpu_second']:,.0f} docs per CPU second")
    RESULTS.mkdir(parents=True, exist_ok=True)
    summary = {"documents": documents, "machine": machine(), **results}
    (RESULTS / "dedup_speed.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
