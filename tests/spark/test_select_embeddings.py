"""semantic_dedup, cluster_balance and prototype_prune on embeddings built in the test (unit vectors with
planted structure), through Spark: decisions, determinism across partitionings, bounded group sizes."""

from __future__ import annotations

import numpy as np
import pytest

from thresher.errors import ThresherError
from thresher.stages.base import StageContext
from thresher.stages.selection.cluster_balance import ClusterBalance, ClusterBalanceParams
from thresher.stages.selection.prototype_prune import PrototypePrune, PrototypePruneParams
from thresher.stages.selection.semantic_dedup import SemanticDedup, SemanticDedupParams

pytestmark = pytest.mark.spark

DIM = 16


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _frame(spark, ids: list[str], vectors: np.ndarray | list, partitions: int = 3, scores=None):
    scores = scores if scores is not None else [None] * len(ids)
    rows = [
        (doc_id, f"text of {doc_id}", None if v is None else [float(x) for x in v], s)
        for doc_id, v, s in zip(ids, vectors, scores, strict=True)
    ]
    df = spark.createDataFrame(rows, "doc_id string, text string, vec array<float>, score double")
    return df.selectExpr(
        "doc_id", "text", "named_struct('keep', true, 'vector', vec) AS embed", "named_struct('score', score) AS q"
    ).repartition(partitions)


def _context(spark, tmp_path, name: str, seed: int = 42) -> StageContext:
    return StageContext(spark, "test", "filter", seed, str(tmp_path / f"scratch_{name}"))


def _decisions(df, stage_id: str, *fields: str) -> dict[str, tuple]:
    columns = ["doc_id", f"{stage_id}.keep", f"{stage_id}.reason", *(f"{stage_id}.{f}" for f in fields)]
    return {r[0]: tuple(r[1:]) for r in df.select(*columns).collect()}


@pytest.fixture(scope="module")
def planted():
    """200 random documents plus 20 near-copies (cosine ~0.99) of the first 20."""
    rng = np.random.default_rng(7)
    base = _unit(rng.normal(size=(200, DIM)))
    copies = _unit(base[:20] + 0.02 * rng.normal(size=(20, DIM)))
    ids = [f"doc{i:03d}" for i in range(200)] + [f"copy{i:03d}" for i in range(20)]
    return ids, np.vstack([base, copies])


def test_semantic_dedup_removes_planted_copies_whatever_the_partitioning(spark, tmp_path, planted):
    ids, vectors = planted
    params = SemanticDedupParams(eps=0.05, clusters=4)
    results = []
    for partitions in (1, 5):
        df = _frame(spark, ids, vectors, partitions)
        out, _report = SemanticDedup(params).apply(df, _context(spark, tmp_path, f"p{partitions}"))
        results.append(_decisions(out, "semantic_dedup", "duplicate_of"))
    assert results[0] == results[1]
    removed = {doc_id: d[2] for doc_id, d in results[0].items() if not d[0]}
    assert len(removed) == 20
    # Each planted pair loses exactly one member, and the other one is named.
    for i in range(20):
        pair = {f"doc{i:03d}", f"copy{i:03d}"}
        (gone,) = pair & set(removed)
        assert removed[gone] == (pair - {gone}).pop()
    assert all(d[1] == "semantic_duplicate" for d in results[0].values() if not d[0])


def test_semantic_dedup_keeps_the_higher_score_and_documents_without_vectors(spark, tmp_path):
    rng = np.random.default_rng(1)
    a = _unit(rng.normal(size=DIM))
    near_a = _unit(a + 0.01 * rng.normal(size=DIM))
    b = _unit(rng.normal(size=DIM))
    df = _frame(spark, ["a", "a2", "b", "none"], [a, near_a, b, None], 2, scores=[0.1, 0.9, 0.5, 0.5])
    params = SemanticDedupParams(eps=0.05, clusters=2, keep="score", score_column="q.score")
    out, _report = SemanticDedup(params).apply(df, _context(spark, tmp_path, "score"))
    got = _decisions(out, "semantic_dedup", "duplicate_of")
    assert got["a"] == (False, "semantic_duplicate", "a2")
    assert got["a2"][0] and got["b"][0]
    assert got["none"] == (True, None, None)


def test_semantic_dedup_bounds_group_size_on_a_skewed_set(spark, tmp_path):
    """900 of 1000 documents sit in one tight region: after k-means the big cluster is split until no Python
    call gets more than max_group_size documents, and the planted copies are still found."""
    rng = np.random.default_rng(3)
    center = _unit(rng.normal(size=DIM))
    dense = _unit(center + 0.3 * rng.normal(size=(880, DIM)))
    spread = _unit(rng.normal(size=(100, DIM)))
    copies = _unit(dense[:20] + 0.005 * rng.normal(size=(20, DIM)))
    vectors = np.vstack([dense, spread, copies])
    ids = [f"d{i:04d}" for i in range(980)] + [f"c{i:04d}" for i in range(20)]
    df = _frame(spark, ids, vectors, 4)
    for depth in (2, 0):  # k-means splitting, then fixed-size blocks only
        ctx = _context(spark, tmp_path, f"skew{depth}")
        params = SemanticDedupParams(eps=0.02, clusters=3, max_group_size=150, max_split_depth=depth)
        out, report = SemanticDedup(params).apply(df, ctx)
        got = _decisions(out, "semantic_dedup")
        assert 0 < report.metrics["largest_group"] <= 150
        assert report.metrics["groups_split" if depth else "groups_blocked"] >= 1
        removed = {doc_id for doc_id, d in got.items() if not d[0]}
        assert len(got) == 1000
        # Splits can separate a pair, blocks more often; most planted pairs must still be caught, and only they.
        assert removed <= {f"d{i:04d}" for i in range(20)} | {f"c{i:04d}" for i in range(20)}
        assert len(removed) >= (18 if depth else 10)


def test_semantic_dedup_rejects_a_missing_vector_column(spark, tmp_path):
    df = spark.createDataFrame([("a", "t")], "doc_id string, text string")
    with pytest.raises(ThresherError, match=r"embed\.vector"):
        SemanticDedup().apply(df, _context(spark, tmp_path, "missing"))


def test_cluster_balance_takes_equal_shares_of_unequal_clusters(spark, tmp_path):
    rng = np.random.default_rng(11)
    centers = _unit(rng.normal(size=(3, DIM)) * 3)
    sizes = [300, 60, 20]
    vectors = np.vstack([_unit(c + 0.05 * rng.normal(size=(n, DIM))) for c, n in zip(centers, sizes, strict=True)])
    ids = [f"b{i:04d}" for i in range(len(vectors))]
    blob = {doc_id: i for i, n in enumerate(sizes) for doc_id in ids[sum(sizes[:i]) : sum(sizes[: i + 1])]}
    params = ClusterBalanceParams(levels=[3], target_count=90)
    runs = []
    for partitions in (1, 4):
        out, _report = ClusterBalance(params).apply(
            _frame(spark, ids, vectors, partitions), _context(spark, tmp_path, "cb")
        )
        runs.append(_decisions(out, "cluster_balance", "cluster"))
    assert runs[0] == runs[1]
    kept = [blob[doc_id] for doc_id, d in runs[0].items() if d[0]]
    # 90 split three ways; the 20-document cluster gives its unused 10 to the others.
    assert sorted(np.bincount(kept).tolist()) == [20, 35, 35]
    assert {d[1] for d in runs[0].values() if not d[0]} == {"not_sampled"}


def test_prototype_prune_keeps_the_hardest_fraction(spark, tmp_path):
    rng = np.random.default_rng(2)
    vectors = _unit(rng.normal(size=(3, DIM))[rng.integers(0, 3, 200)] + 0.3 * rng.normal(size=(200, DIM)))
    ids = [f"p{i:03d}" for i in range(200)]
    df = _frame(spark, ids, [*vectors[:-1], None], 3)
    for policy, expected in (("hardest", 80), ("both_ends", 80)):
        ctx = _context(spark, tmp_path, policy)
        out, _report = PrototypePrune(PrototypePruneParams(clusters=3, keep_fraction=0.4, keep=policy)).apply(df, ctx)
        got = _decisions(out, "prototype_prune", "distance", "hardness_rank")
        assert got[ids[-1]] == (False, "no_embedding", None, None)
        kept = sorted(d[2] for d in got.values() if d[0])
        pruned = [d[2] for d in got.values() if d[1] == "pruned"]
        assert len(kept) == expected and len(pruned) == 199 - expected
        if policy == "hardest":
            assert max(pruned) <= min(kept)
            assert sorted(d[3] for d in got.values() if d[0]) == list(range(1, 81))
        else:
            assert min(kept) <= min(pruned) and max(pruned) <= max(kept)
