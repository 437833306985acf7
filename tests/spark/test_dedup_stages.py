"""exact_dedup, url_dedup and minhash_dedup on the shared Spark session."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from tests.spark.dedup_docs import document, near_duplicate, vocabulary
from thresher.errors import ConfigError
from thresher.stages.base import GlobalStage, StageContext, StageReport
from thresher.stages.exact_dedup import ExactDedup, ExactDedupParams
from thresher.stages.minhash_dedup import MinHashDedup, MinHashDedupParams
from thresher.stages.url_dedup import UrlDedup

pytestmark = pytest.mark.spark


def _frame(spark: SparkSession, docs: list[dict[str, Any]], partitions: int | None = None) -> DataFrame:
    schema = "doc_id string, text string, url string, quality struct<score: double>"
    rows = [(d["doc_id"], d["text"], d.get("url"), {"score": d.get("score")}) for d in docs]
    frame = spark.createDataFrame(rows, schema)
    return frame.repartition(partitions) if partitions else frame


def _run(stage: GlobalStage, frame: DataFrame, scratch: Path) -> tuple[dict[str, dict[str, Any]], StageReport]:
    ctx = StageContext(frame.sparkSession, "test", "filter", 42, str(scratch))
    out, report = stage.apply(frame, ctx)
    assert out.columns == [*frame.columns, stage.id]
    rows = {r["doc_id"]: r[stage.id].asDict() for r in out.select("doc_id", stage.id).collect()}
    assert len(rows) == frame.count()
    return rows, report


def _kept(rows: dict[str, dict[str, Any]]) -> set[str]:
    return {doc_id for doc_id, r in rows.items() if r["keep"]}


def test_exact_dedup_keeps_the_smallest_doc_id_and_points_copies_to_it(spark, tmp_path):
    docs = [
        {"doc_id": "d3", "text": "The same page.\n\nSecond paragraph."},
        {"doc_id": "d1", "text": "The same   page.\nSecond paragraph."},
        {"doc_id": "d2", "text": "The same page. Second paragraph."},
        {"doc_id": "d4", "text": "THE SAME PAGE. Second paragraph."},
        {"doc_id": "d5", "text": "Something else."},
        {"doc_id": "d6", "text": "   "},
        {"doc_id": "d7", "text": "\n"},
    ]
    rows, report = _run(ExactDedup(), _frame(spark, docs), tmp_path)
    assert _kept(rows) == {"d1", "d4", "d5", "d6", "d7"}
    for copy in ("d2", "d3"):
        assert rows[copy] | {"text_hash": None} == {
            "keep": False,
            "reason": "exact_duplicate",
            "duplicate_of": "d1",
            "cluster_id": "d1",
            "cluster_size": 3,
            "text_hash": None,
        }
    assert rows["d1"]["duplicate_of"] is None and rows["d1"]["cluster_size"] == 3
    assert rows["d1"]["text_hash"] == rows["d3"]["text_hash"] != rows["d4"]["text_hash"]
    # Texts with nothing left after normalization are never duplicates of each other.
    assert rows["d6"]["text_hash"] is None and rows["d6"]["cluster_size"] == 1 and rows["d6"]["cluster_id"] == "d6"
    assert report.metrics == {"clusters": 1.0, "duplicates": 2.0, "docs_in_clusters": 3.0, "largest_cluster": 3.0}
    assert report.details["cluster_size_histogram"] == {"3-4": 1}

    lowercase = ExactDedupParams.model_validate({"normalization": {"lowercase": True}})
    rows, _ = _run(ExactDedup(lowercase), _frame(spark, docs), tmp_path / "lower")
    assert rows["d4"]["duplicate_of"] == "d1"


def test_keep_policies_break_ties_by_doc_id(spark, tmp_path):
    docs = [
        {"doc_id": "a", "text": "same text", "score": 0.5},
        {"doc_id": "b", "text": "same  text", "score": 0.9},
        {"doc_id": "c", "text": "same text", "score": 0.9},
        {"doc_id": "d", "text": "same text", "score": None},
        {"doc_id": "e", "text": "other", "score": None},
        {"doc_id": "f", "text": "other", "score": None},
    ]
    best = ExactDedupParams(keep="max_column", keep_column="quality.score")
    rows, _ = _run(ExactDedup(best), _frame(spark, docs), tmp_path / "best")
    assert _kept(rows) == {"b", "e"}
    assert rows["a"]["duplicate_of"] == rows["c"]["duplicate_of"] == rows["d"]["duplicate_of"] == "b"

    longest = ExactDedupParams(keep="longest_text", normalization={"collapse_whitespace": True})
    rows, _ = _run(ExactDedup(longest), _frame(spark, docs), tmp_path / "longest")
    assert _kept(rows) == {"b", "e"}  # "same  text" is one character longer

    with pytest.raises(ConfigError, match=r"keep_column: 'quality.missing' not found: quality has score"):
        ExactDedup(ExactDedupParams(keep="max_column", keep_column="quality.missing")).apply(
            _frame(spark, docs), StageContext(spark, "t", "filter", 1, str(tmp_path / "x"))
        )
    with pytest.raises(ConfigError, match="is string, not a number"):
        ExactDedup(ExactDedupParams(keep="max_column", keep_column="text")).apply(
            _frame(spark, docs), StageContext(spark, "t", "filter", 1, str(tmp_path / "y"))
        )


def test_url_dedup_groups_variants_of_one_url_and_keeps_documents_without_url(spark, tmp_path):
    docs = [
        {"doc_id": "1", "text": "a", "url": "https://www.example.com/news/item/?utm_source=x"},
        {"doc_id": "2", "text": "b", "url": "http://example.com/news/item"},
        {"doc_id": "3", "text": "c", "url": "https://example.com/news/other"},
        {"doc_id": "4", "text": "d", "url": None},
        {"doc_id": "5", "text": "e", "url": None},
        {"doc_id": "6", "text": "f", "url": "mailto:someone@example.com"},
    ]
    rows, report = _run(UrlDedup(), _frame(spark, docs), tmp_path)
    assert _kept(rows) == {"1", "3", "4", "5", "6"}
    assert rows["2"]["reason"] == "duplicate_url" and rows["2"]["duplicate_of"] == "1"
    assert rows["1"]["url_key"] == "//example.com/news/item"
    assert rows["4"]["url_key"] is None and rows["4"]["cluster_size"] == 1
    assert report.metrics["duplicates"] == 1.0


def _near_duplicate_corpus(seed: int = 11) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """40 originals, each with 0-3 copies where 1-3 words changed (Jaccard to the original > 0.9), plus 60
    unrelated documents. Returns the docs and {copy id: original id}."""
    rng = random.Random(seed)
    words = vocabulary()
    docs, original_of = [], {}
    for i in range(40):
        text = document(rng, words, rng.randint(150, 300))
        docs.append({"doc_id": f"orig-{i:03d}", "text": text})
        for j in range(i % 4):
            changes = rng.randint(1, 3)
            copy_id = f"copy-{i:03d}-{j}"
            docs.append({"doc_id": copy_id, "text": near_duplicate(rng, text, words, changes)})
            original_of[copy_id] = f"orig-{i:03d}"
    for i in range(60):
        docs.append({"doc_id": f"solo-{i:03d}", "text": document(rng, words, rng.randint(100, 300))})
    return docs, original_of


def _run_with_shuffle_partitions(stage: GlobalStage, frame: DataFrame, scratch: Path, count: int):
    spark = frame.sparkSession
    previous = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", str(count))
    try:
        return _run(stage, frame, scratch)
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", previous)


def test_minhash_clusters_near_duplicates_the_same_way_whatever_the_partitioning(spark, tmp_path):
    docs, original_of = _near_duplicate_corpus()
    rng = random.Random(9)
    words = vocabulary()
    # A chain of copies, each 2 words (then, every third step, 8 words) away from the previous one: its ends
    # are not similar, so which candidate pairs survive verification decides the clusters.
    text = document(rng, words, 200)
    for i in range(12):
        text = near_duplicate(rng, text, words, 8 if i % 3 == 0 else 2)
        docs.append({"doc_id": f"chain-{(i * 7) % 12:02d}", "text": text})
    stage = MinHashDedup(MinHashDedupParams(keep="longest_text"))
    runs = []
    # Input partitions 1, 4 and 16 against shuffle partitions 4, 7 and 2: each count of each differs between runs.
    for name, partitions, shuffle_partitions in [("p1", 1, 4), ("p16", 16, 7), ("p4", 4, 2)]:
        frame = _frame(spark, docs, partitions)
        runs.append(_run_with_shuffle_partitions(stage, frame, tmp_path / name, shuffle_partitions))
    rows, report = runs[0]
    assert all(other_rows == rows for other_rows, _ in runs[1:])

    for copy_id, original in original_of.items():
        assert (
            rows[copy_id]["cluster_id"]
            == rows[original]["cluster_id"]
            == min([original, *[c for c, o in original_of.items() if o == original]])
        )
    kept = _kept(rows)
    assert {d["doc_id"] for d in docs if d["doc_id"].startswith("solo")} <= kept
    for r in rows.values():
        if not r["keep"]:
            assert r["reason"] == "near_duplicate" and rows[r["duplicate_of"]]["keep"]
            assert rows[r["duplicate_of"]]["cluster_id"] == r["cluster_id"]
    originals = [r for doc_id, r in rows.items() if doc_id.startswith(("orig", "copy"))]
    assert sum(not r["keep"] for r in originals) == len(original_of)
    assert sum(r["keep"] and r["cluster_size"] > 1 for r in originals) == 30  # originals 1-3 (mod 4) have copies
    chain = [r for doc_id, r in rows.items() if doc_id.startswith("chain")]
    assert 1 < len({r["cluster_id"] for r in chain}) < 12
    assert report.metrics["verified_edges"] < report.metrics["candidate_edges"]
    assert report.metrics["docs_without_shingles"] == 0


def test_verification_drops_candidates_below_the_threshold(spark, tmp_path):
    rng = random.Random(5)
    words = vocabulary()
    base = document(rng, words, 400)
    # A near copy (Jaccard ~0.9) and a document sharing only the first half of the text (~0.3), which loose
    # banding (28 bands of 2 rows) makes a candidate.
    docs = [
        {"doc_id": "a", "text": base},
        {"doc_id": "b", "text": near_duplicate(rng, base, words, 4)},
        {"doc_id": "c", "text": " ".join(base.split(" ")[:200] + document(rng, words, 200).split(" "))},
    ]
    loose = {"bands": 28, "rows": 2, "threshold": 0.8}
    rows, _ = _run(MinHashDedup(MinHashDedupParams(**loose, verify="none")), _frame(spark, docs), tmp_path / "none")
    assert _kept(rows) == {"a"}
    for verify in ("signature", "exact"):
        params = MinHashDedupParams(**loose, verify=verify)
        rows, report = _run(MinHashDedup(params), _frame(spark, docs), tmp_path / verify)
        assert _kept(rows) == {"a", "c"}
        assert report.metrics["verified_edges"] == 1 < report.metrics["candidate_edges"]


def test_ten_thousand_identical_documents_leave_one(spark, tmp_path):
    text = "Breaking news: the same wire story was republished by every site in the network today."
    docs = [{"doc_id": f"copy-{i:05d}", "text": text} for i in range(10_000)]
    docs.append({"doc_id": "other", "text": "A completely different story about the harbour and its old boats."})
    frame = _frame(spark, docs, 4)
    rows, report = _run(MinHashDedup(MinHashDedupParams(oversized_bucket=1000)), frame, tmp_path / "minhash")
    assert _kept(rows) == {"copy-00000", "other"}
    assert rows["copy-09999"] == {
        "keep": False,
        "reason": "near_duplicate",
        "duplicate_of": "copy-00000",
        "cluster_id": "copy-00000",
        "cluster_size": 10_000,
        "shingles": 11,
    }
    assert report.metrics["oversized_buckets"] == 14 and report.metrics["largest_bucket"] == 10_000
    assert report.metrics["candidate_edges"] == 9_999 and report.metrics["cc_rounds"] == 0
    rows, _ = _run(ExactDedup(), frame, tmp_path / "exact")
    assert _kept(rows) == {"copy-00000", "other"}


def test_documents_shorter_than_the_shingle_size_do_not_collapse_into_one_cluster(spark, tmp_path):
    rng = random.Random(2)
    words = vocabulary()
    docs = [{"doc_id": f"short-{i:03d}", "text": " ".join(rng.sample(words, rng.randint(1, 4)))} for i in range(300)]
    docs += [
        {"doc_id": "repeat-1", "text": "Read more"},
        {"doc_id": "repeat-2", "text": "read   MORE!"},
        {"doc_id": "repeat-3", "text": "Read more."},
        {"doc_id": "symbols-1", "text": "!!!"},
        {"doc_id": "symbols-2", "text": "???"},
        {"doc_id": "symbols-3", "text": "—"},
    ]
    rows, report = _run(MinHashDedup(), _frame(spark, docs, 2), tmp_path)
    assert _kept(rows) == {d["doc_id"] for d in docs} - {"repeat-2", "repeat-3"}
    assert rows["repeat-3"]["duplicate_of"] == "repeat-1" and rows["repeat-1"]["shingles"] == 1
    assert rows["symbols-1"]["shingles"] == 0 and rows["symbols-1"]["cluster_size"] == 1
    assert report.metrics["short_docs"] == 303 and report.metrics["docs_without_shingles"] == 3
    assert report.metrics["largest_cluster"] == 3


def test_empty_input(spark, tmp_path):
    frame = _frame(spark, []).where(F.lit(False))
    for stage in (MinHashDedup(), ExactDedup(), UrlDedup()):
        rows, _ = _run(stage, frame, tmp_path / stage.id)
        assert rows == {}
