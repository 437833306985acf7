"""The dedup stages inside a pipeline run, on a real crawl sample (exact copies and near-duplicate groups)."""

from __future__ import annotations

import re

import pytest

from conftest import shared_corpus
from thresher.conf import load_config
from thresher.io.delta import DeltaStore, resolve_format
from thresher.runner import run_pipeline

pytestmark = pytest.mark.spark


def test_filter_run_removes_exact_then_near_duplicates_of_a_real_crawl(spark, tmp_path):
    corpus = shared_corpus("dolma_cc_2019_30_raw.jsonl")
    config = load_config(
        data={
            "run": {"output": str(tmp_path / "run"), "mode": "filter"},
            "input": {"path": str(corpus), "format": "jsonl"},
            "stages": {"normalize": {}, "exact_dedup": {}, "minhash_dedup": {}},
        }
    )
    result = run_pipeline(config, spark)
    store = DeltaStore(spark, resolve_format(spark, "auto"))
    excluded = store.read(f"{result.output}/excluded").select(
        "doc_id", "text", "stage", "reason", "exact_dedup", "minhash_dedup"
    )
    kept = store.read(f"{result.output}/kept").select("doc_id", "text", "minhash_dedup")
    texts = {r["doc_id"]: r["text"] for r in kept.union(excluded.select(*kept.columns)).collect()}
    stats = {r["stage"]: r for r in result.stats}

    exact = excluded.where("stage = 'exact_dedup'").collect()
    assert exact and all(r["reason"] == "exact_duplicate" for r in exact)
    for row in exact:
        original = texts[row["exact_dedup"]["duplicate_of"]]
        assert re.sub(r"\s+", " ", original) == re.sub(r"\s+", " ", row["text"])
        assert row["doc_id"] > row["exact_dedup"]["duplicate_of"]
    assert stats["exact_dedup"]["docs_excluded"] == len(exact) == stats["exact_dedup"]["metrics"]["duplicates"]

    near = excluded.where("stage = 'minhash_dedup'").collect()
    kept_ids = {r["doc_id"] for r in kept.collect()}
    assert near and all(r["reason"] == "near_duplicate" for r in near)
    # minhash_dedup is the last stage: the documents it points to are kept, and share the cluster.
    clusters = {r["doc_id"]: r["minhash_dedup"]["cluster_id"] for r in kept.collect()}
    for row in near:
        assert row["minhash_dedup"]["duplicate_of"] in kept_ids
        assert clusters[row["minhash_dedup"]["duplicate_of"]] == row["minhash_dedup"]["cluster_id"]
    metrics = stats["minhash_dedup"]["metrics"]
    assert metrics["duplicates"] == len(near) and metrics["clusters"] >= 1
    assert metrics["verified_edges"] <= metrics["candidate_edges"]
    assert result.totals["input_records"] == sum(result.totals[k] for k in ("kept", "excluded", "quarantine"))
