"""`embed` throughput inside Spark vs plain `SentenceTransformer.encode` on the same documents, same run.

Like with like: for N cores, plain encode runs in one process with N torch threads; Spark runs `local[N]`,
i.e. N Python workers with one torch thread each (the stage's default). Both embed the same documents with
the same model, window and batch size. Steady state: the Spark job is run once to start its Python workers and
load the model in each, then timed; plain encode is warmed up the same way. The cold Spark time (worker start
and model load included) is reported too.

    python -m bench.embed_throughput                       # CPU, 1 and 2 cores, 600 documents
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
from typing import Any

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


def plain_encode(texts: list[str], threads: int, device: str, batch_size: int) -> dict[str, Any]:
    import torch
    from sentence_transformers import SentenceTransformer

    from thresher.models.embeddings import DEFAULT_MODEL
    from thresher.models.encoder import resolve_model

    torch.set_num_threads(threads)
    model = SentenceTransformer(resolve_model(DEFAULT_MODEL)[0], device=device)
    if device.startswith("cuda"):
        model.half()
    model.encode(texts[:64], batch_size=batch_size, normalize_embeddings=True)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "docs_per_second": len(texts) / seconds, "torch_threads": threads}


def spark_encode(
    texts: list[str], master: str, cores: int, device: str, batch_size: int, conf: dict[str, str]
) -> dict[str, Any]:
    from thresher.spark import get_spark
    from thresher.stages.fused import FusedPass
    from thresher.stages.models.embed import Embed, EmbedParams

    settings = {"spark.master": master, "spark.driver.memory": "3g", "spark.ui.enabled": "false", **conf}
    settings["spark.sql.execution.arrow.maxRecordsPerBatch"] = "1000"
    spark = get_spark(settings, app_name="bench-embed")
    try:
        frame = spark.createDataFrame([(f"d{i}", t) for i, t in enumerate(texts)], "doc_id string, text string")
        frame = frame.repartition(cores).cache()
        frame.count()
        stage = Embed(
            EmbedParams(
                device="auto" if device == "cpu" or not master.startswith("local") else "cuda", batch_size=batch_size
            )
        )
        fused = FusedPass([stage], "annotate")
        embedded = frame.mapInArrow(fused, fused.output_schema(frame.schema))
        timings = []
        for _ in range(2):  # the first run starts the Python workers and loads the model in each
            started = time.perf_counter()
            embedded.write.format("noop").mode("overwrite").save()
            timings.append(time.perf_counter() - started)
        return {
            "master": master,
            "partitions": cores,
            "python_workers": cores,
            "torch_threads_per_worker": stage.params.torch_threads,
            "cold_seconds": timings[0],
            "seconds": timings[1],
            "docs_per_second": len(texts) / timings[1],
            "cold_docs_per_second": len(texts) / timings[0],
        }
    finally:
        spark.stop()


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
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--corpus", help="JSONL with a text field (default: olmo_c4_1000 from ../shared/data)")
    parser.add_argument("--cores", default="1,2", help="comma-separated core counts to compare at")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 32 on CPU, 256 on GPU")
    parser.add_argument("--master", default="local", help="local (local[N] per core count) or a cluster URL")
    parser.add_argument("--spark-conf-file", help="Spark properties file (e.g. conf/cluster/gpu.conf)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    texts, source = load_documents(args.docs, args.corpus)
    batch_size = args.batch_size or (256 if args.device == "cuda" else 32)
    conf = read_properties(args.spark_conf_file) if args.spark_conf_file else {}
    runs = []
    for cores in [int(c) for c in args.cores.split(",")]:
        master = f"local[{cores}]" if args.master == "local" else args.master
        plain = plain_encode(texts, cores, args.device, batch_size)
        spark = spark_encode(texts, master, cores, args.device, batch_size, conf)
        run = {
            "cores": cores,
            "plain": plain,
            "spark": spark,
            "ratio": spark["docs_per_second"] / plain["docs_per_second"],
        }
        runs.append(run)
        print(
            f"{cores} core(s), {args.device}: plain encode {plain['docs_per_second']:.1f} docs/s "
            f"({cores} torch threads, 1 process); Spark {master} {spark['docs_per_second']:.1f} docs/s "
            f"({cores} workers x 1 thread; cold {spark['cold_docs_per_second']:.1f}); ratio {run['ratio']:.2f}",
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
