"""`embed` throughput inside Spark vs plain `SentenceTransformer.encode` on the same documents, same run.

Like with like: for N cores, plain encode runs in one process with N torch threads; Spark runs `local[N]`,
i.e. N Python workers with one torch thread each (the stage's default). Both embed the same documents with
the same model, window and batch size, with tokenizer threads off for both. Steady state: the Spark job runs once
to start its Python workers and load the model in each (reported as the cold time), then timed runs of plain
and Spark alternate `--rounds` times so that both see the same load of a shared machine; the best of each is
compared (the median ratio is reported too).

    python -m bench.embed_throughput                       # CPU, 1 and 2 cores, 400 documents
    python -m bench.embed_throughput --device cuda         # GPU: fp16, batches sized for the card
    python -m bench.embed_throughput --master spark://host:7077 --spark-conf-file conf/cluster/gpu.conf

Documents: ../shared/data/olmo_c4_1000.jsonl when present, else the demo corpus generator.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("THRESHER_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "bench" / "results" / "embed_throughput.json"


def load_documents(limit: int, corpus: str | None) -> tuple[list[str], str]:
    path = Path(corpus) if corpus else SHARED / "olmo_c4_1000.jsonl"
    if path.is_file():
        with path.open(encoding="utf-8") as handle:
            texts = [json.loads(line)["text"] for line in handle if line.strip()]
        return texts[:limit], str(path)
    from thresher.demo import generate_demo_corpus

    generated = ROOT / "build" / "bench" / "demo.jsonl"
    generate_demo_corpus(str(generated), limit * 2, 1)
    with generated.open(encoding="utf-8") as handle:
        texts = [
            t
            for t in (json.loads(line).get("text") for line in handle if line.strip())
            if isinstance(t, str) and t.strip()
        ]
    return texts[:limit], "thresher demo-corpus"


class PlainEncoder:
    """`SentenceTransformer.encode` in this process with `threads` torch threads."""

    def __init__(self, threads: int, device: str, batch_size: int) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        from thresher.models.embeddings import DEFAULT_MODEL
        from thresher.models.encoder import resolve_model

        torch.set_num_threads(threads)
        self.threads = threads
        self.device = device
        self.batch_size = batch_size
        self.model = SentenceTransformer(resolve_model(DEFAULT_MODEL)[0], device=device)
        if device.startswith("cuda"):
            self.model.half()

    def seconds(self, texts: list[str]) -> float:
        import torch

        torch.set_num_threads(self.threads)
        started = time.perf_counter()
        self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False)
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - started


class SparkEncoder:
    """The `embed` stage in a `mapInArrow` pass over the documents, written to Spark's no-op sink."""

    def __init__(self, texts: list[str], master: str, cores: int, device: str, batch_size: int, conf: dict[str, str]):
        from thresher.spark import get_spark
        from thresher.stages.fused import FusedPass
        from thresher.stages.models.embed import Embed, EmbedParams

        settings = {"spark.master": master, "spark.driver.memory": "3g", "spark.ui.enabled": "false", **conf}
        settings["spark.sql.execution.arrow.maxRecordsPerBatch"] = "1000"
        self.spark = get_spark(settings, app_name="bench-embed")
        frame = self.spark.createDataFrame([(f"d{i}", t) for i, t in enumerate(texts)], "doc_id string, text string")
        frame = frame.repartition(cores).cache()
        frame.count()
        self.stage = Embed(EmbedParams(device=stage_device(device, master), batch_size=batch_size))
        fused = FusedPass([self.stage], "annotate")
        self.embedded = frame.mapInArrow(fused, fused.output_schema(frame.schema))

    def seconds(self) -> float:
        started = time.perf_counter()
        self.embedded.write.format("noop").mode("overwrite").save()
        return time.perf_counter() - started

    def stop(self) -> None:
        self.spark.stop()


def compare(
    texts: list[str], cores: int, master: str, device: str, batch_size: int, conf: dict[str, str], rounds: int
):
    """Alternates timed plain and Spark runs so that both see the same machine load; keeps the best of each."""
    plain = PlainEncoder(cores, device, batch_size)
    plain.seconds(texts[:64])
    spark = SparkEncoder(texts, master, cores, device, batch_size, conf)
    try:
        cold = spark.seconds()  # starts the Python workers and loads the model in each
        plain_times, spark_times = [], []
        for _ in range(rounds):
            plain_times.append(plain.seconds(texts))
            spark_times.append(spark.seconds())
    finally:
        spark.stop()
    n = len(texts)
    best_plain, best_spark = min(plain_times), min(spark_times)
    return {
        "cores": cores,
        "plain": {
            "process": 1,
            "torch_threads": cores,
            "seconds": plain_times,
            "docs_per_second": n / best_plain,
        },
        "spark": {
            "master": master,
            "python_workers": cores,
            "torch_threads_per_worker": spark.stage.params.torch_threads,
            "seconds": spark_times,
            "cold_seconds": cold,
            "docs_per_second": n / best_spark,
            "cold_docs_per_second": n / cold,
        },
        "ratio": best_plain / best_spark,
        "ratio_median": float(sorted(plain_times)[rounds // 2] / sorted(spark_times)[rounds // 2]),
    }


def stage_device(device: str, master: str) -> str:
    """cpu stays on the CPU; on GPU, local mode shares the machine's GPU (Spark cannot schedule GPUs in local
    mode) and a cluster hands each task its GPU (auto)."""
    if device == "cpu":
        return "cpu"
    return "cuda" if master.startswith("local") else "auto"


def read_properties(path: str) -> dict[str, str]:
    conf = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            conf[key] = value.strip()
    return conf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--corpus", help="JSONL with a text field (default: olmo_c4_1000 from ../shared/data)")
    parser.add_argument("--cores", default="1,2", help="comma-separated core counts to compare at")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 32 on CPU, 256 on GPU")
    parser.add_argument("--master", default="local", help="local (local[N] per core count) or a cluster URL")
    parser.add_argument("--spark-conf-file", help="Spark properties file (e.g. conf/cluster/gpu.conf)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timed runs of each (best is kept)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # Tokenizer threads would give plain encode more cores than it is compared at (the Spark workers set it too).
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    texts, source = load_documents(args.docs, args.corpus)
    batch_size = args.batch_size or (256 if args.device == "cuda" else 32)
    conf = read_properties(args.spark_conf_file) if args.spark_conf_file else {}
    runs = []
    for cores in [int(c) for c in args.cores.split(",")]:
        master = f"local[{cores}]" if args.master == "local" else args.master
        run = compare(texts, cores, master, args.device, batch_size, conf, args.rounds)
        runs.append(run)
        plain, spark = run["plain"], run["spark"]
        print(
            f"{cores} core(s), {args.device}: plain encode {plain['docs_per_second']:.1f} docs/s "
            f"(1 process, {cores} torch threads); Spark {master} {spark['docs_per_second']:.1f} docs/s "
            f"({cores} Python workers x 1 torch thread; cold {spark['cold_docs_per_second']:.1f}); "
            f"ratio {run['ratio']:.2f} (median {run['ratio_median']:.2f})",
            flush=True,
        )
    result = {
        "benchmark": "embed_throughput",
        "documents": len(texts),
        "characters": sum(len(t) for t in texts),
        "source": source,
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "device": args.device,
        "batch_size": batch_size,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_average": os.getloadavg()},
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
