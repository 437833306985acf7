"""Accuracy of minhash_dedup on the near-duplicate benchmark (bench/dedup_corpus.py).

Pairwise precision and recall over clusters: the true clusters at threshold t are the connected components
of the graph of pairs with exact Jaccard >= t; a pair of documents is predicted when minhash_dedup puts them
in the same cluster. Counted by pair counting over the (predicted, true) contingency table.

    python -m bench.dedup_accuracy [--thresholds 0.7 0.8 0.9] [--rebuild]

Writes bench/results/dedup_accuracy.json and prints the table of the README.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass

import pyarrow.parquet as pq

from bench.dedup_corpus import BUILD, RESULTS, benchmark_files
from thresher.dedup.minhash import pick_bands_rows
from thresher.spark import get_spark
from thresher.stages.base import StageContext
from thresher.stages.minhash_dedup import MinHashDedup, MinHashDedupParams

SPARK_CONF = {
    "spark.master": "local[2]",
    "spark.driver.memory": "3g",
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.enabled": "false",
}


@dataclass(frozen=True)
class Config:
    threshold: float
    bands: int
    rows: int
    verify: str

    @property
    def label(self) -> str:
        return f"{self.bands}x{self.rows} verify={self.verify}"


def true_clusters(pairs: list[tuple[str, str, float]], threshold: float) -> dict[str, str]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for first, second, similarity in pairs:
        if similarity >= threshold:
            a, b = find(first), find(second)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {x: find(x) for x in parent}


def pairwise_scores(predicted: dict[str, str], truth: dict[str, str]) -> dict[str, float]:
    """Precision, recall, F1 of co-clustered pairs; documents absent from a mapping are singletons."""

    def pairs(sizes: Counter) -> int:
        return sum(n * (n - 1) // 2 for n in sizes.values())

    docs = set(predicted) | set(truth)
    predicted_pairs = pairs(Counter(predicted.get(d, d) for d in docs))
    true_pairs = pairs(Counter(truth.get(d, d) for d in docs))
    both = pairs(Counter((predicted.get(d, d), truth.get(d, d)) for d in docs))
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "predicted_pairs": predicted_pairs,
        "true_pairs": true_pairs,
    }


def run_config(spark, corpus_path: str, config: Config) -> tuple[dict[str, str], dict[str, float], float]:
    params = MinHashDedupParams(threshold=config.threshold, bands=config.bands, rows=config.rows, verify=config.verify)
    scratch = BUILD / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    ctx = StageContext(spark, "bench", "filter", 1, str(scratch))
    frame = spark.read.parquet(corpus_path).select("doc_id", "text")
    started = time.perf_counter()
    out, report = MinHashDedup(params).apply(frame, ctx)
    out = out.select("doc_id", "minhash_dedup.cluster_id", "minhash_dedup.cluster_size")
    rows = out.where("cluster_size > 1").collect()
    seconds = time.perf_counter() - started
    return {r["doc_id"]: r["cluster_id"] for r in rows}, dict(report.metrics), seconds


def configs(thresholds: list[float]) -> list[Config]:
    """FineWeb's 14 x 8 without verification, and per threshold: bands x rows picked for it (balanced for
    no verification, recall-favouring with verification, as the stage picks them), 14 x 8 verified."""
    out = [Config(0.8, 14, 8, "none")]
    for t in thresholds:
        out.append(Config(t, *pick_bands_rows(t, 112), "none"))
        for verify in ("signature", "exact"):
            out.append(Config(t, 14, 8, verify))
            out.append(Config(t, *pick_bands_rows(t, 112, 0.05), verify))
    return list(dict.fromkeys(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.7, 0.8, 0.9])
    parser.add_argument("--rebuild", action="store_true", help="rebuild the corpus and its ground truth")
    args = parser.parse_args()
    corpus, pairs_path = benchmark_files(args.rebuild)
    pairs = [(r["first"], r["second"], r["jaccard"]) for r in pq.read_table(pairs_path).to_pylist()]
    truths = {t: true_clusters(pairs, t) for t in args.thresholds}
    spark = get_spark(SPARK_CONF, app_name="bench-dedup-accuracy")
    documents = spark.read.parquet(str(corpus)).count()
    results = []
    for config in configs(args.thresholds):
        predicted, metrics, seconds = run_config(spark, str(corpus), config)
        # Without verification the clusters do not depend on the threshold: score them at every threshold.
        evaluated = (
            args.thresholds if (config.bands, config.rows, config.verify) == (14, 8, "none") else [config.threshold]
        )
        for t in evaluated:
            scores = pairwise_scores(predicted, truths[t])
            row = {"threshold": t, "bands": config.bands, "rows": config.rows, "verify": config.verify, **scores}
            row |= {
                "seconds": seconds,
                "candidate_edges": metrics.get("candidate_edges"),
                "clusters": metrics.get("clusters"),
            }
            results.append(row)
            print(
                f"t={t:.2f} {config.label:24s} precision {scores['precision']:.3f} recall {scores['recall']:.3f} "
                f"f1 {scores['f1']:.3f} ({seconds:.0f} s)",
                flush=True,
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    summary = {
        "documents": documents,
        "true_pairs_min_jaccard": 0.5,
        "ground_truth_pairs": len(pairs),
        "runs": results,
    }
    (RESULTS / "dedup_accuracy.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("\n| threshold | bands x rows | verify | precision | recall | F1 |\n|---|---|---|---|---|---|")
    for r in sorted(results, key=lambda r: (r["threshold"], r["verify"], -r["bands"])):
        print(
            f"| {r['threshold']:.2f} | {r['bands']} x {r['rows']} | {r['verify']} | {r['precision']:.3f} "
            f"| {r['recall']:.3f} | {r['f1']:.3f} |"
        )
    spark.stop()


if __name__ == "__main__":
    main()
