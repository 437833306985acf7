"""The numpy parts of selection: k-means, SemDeDup's greedy decision, quotas, hashed n-gram features."""

from __future__ import annotations

import numpy as np
import pytest

from thresher.models.embeddings import l2_normalize as normalize
from thresher.select import hashed_ngrams
from thresher.select.kmeans import assign, hierarchical_kmeans, kmeans
from thresher.select.quotas import tree_quotas, water_fill
from thresher.select.semdedup import greedy_dedup


def _blobs(sizes: list[int], dim: int = 8, spread: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = normalize(rng.normal(size=(len(sizes), dim)))
    points = [normalize(c + spread * rng.normal(size=(n, dim))) for c, n in zip(centers, sizes, strict=True)]
    labels = np.repeat(np.arange(len(sizes)), sizes)
    return np.vstack(points), labels


def test_kmeans_recovers_separated_blobs_and_is_deterministic():
    x, truth = _blobs([60, 40, 30])
    centroids = kmeans(x, 3, seed=1)
    labels, sims = assign(x, centroids)
    # Each blob maps to exactly one cluster and each cluster to one blob.
    pairs = {(int(t), int(label)) for t, label in zip(truth, labels, strict=True)}
    assert len(pairs) == 3 and len({label for _, label in pairs}) == 3
    assert sims.min() > 0.9
    np.testing.assert_array_equal(centroids, kmeans(x, 3, seed=1))


def test_kmeans_with_more_clusters_than_distinct_points():
    x = normalize(np.array([[1.0, 0.0]] * 5 + [[0.0, 1.0]] * 5))
    assert len(kmeans(x, 8, seed=0)) == 2


def test_hierarchical_kmeans_links_every_leaf_to_a_parent():
    x, _ = _blobs([30, 30, 30, 30], seed=3)
    leaves, parents = hierarchical_kmeans(x, [8, 2], seed=0)
    assert leaves.shape == (8, 8)
    assert len(parents) == 1 and parents[0].shape == (8,) and set(parents[0]) <= {0, 1}


def test_greedy_dedup_removes_near_copies_and_names_the_kept_document():
    rng = np.random.default_rng(0)
    base = normalize(rng.normal(size=(6, 32)))
    near = normalize(base[[1, 4]] + 0.01 * rng.normal(size=(2, 32)))
    x = np.vstack([base, near])  # rows 6, 7 copy rows 1, 4
    decision = greedy_dedup(x, eps=0.05)
    assert decision.keep.tolist() == [True] * 6 + [False, False]
    assert decision.duplicate_of.tolist() == [-1] * 6 + [1, 4]
    assert decision.similarity[6] > 0.95


def test_greedy_dedup_compares_with_kept_documents_only():
    # b is a duplicate of a, c of b but not of a: c stays, since b was removed.
    a = np.array([1.0, 0.0])
    b = np.array([np.cos(0.3), np.sin(0.3)])
    c = np.array([np.cos(0.6), np.sin(0.6)])
    decision = greedy_dedup(np.vstack([a, b, c]), eps=1 - np.cos(0.35))
    assert decision.keep.tolist() == [True, False, True]


def test_greedy_dedup_block_size_does_not_change_decisions():
    rng = np.random.default_rng(5)
    base = normalize(rng.normal(size=(40, 16)))
    x = np.vstack([base, normalize(base[::3] + 0.02 * rng.normal(size=(14, 16)))])
    x = x[rng.permutation(len(x))]
    reference = greedy_dedup(x, eps=0.05, block=1000)
    for block in (1, 3, 7, 16):
        other = greedy_dedup(x, eps=0.05, block=block)
        np.testing.assert_array_equal(other.keep, reference.keep)
        np.testing.assert_array_equal(other.duplicate_of, reference.duplicate_of)
    assert (~reference.keep).sum() == 14


def test_water_fill_redistributes_what_a_small_group_cannot_use():
    quotas = water_fill(np.array([10, 100, 100]), np.array([1.0, 1.0, 2.0]), 90, integer=True)
    # Group 0 takes all its 10; the other 80 go 1:2 -> 26.67 / 53.33, rounded by largest remainder.
    assert quotas.tolist() == [10, 27, 53]
    assert water_fill(np.array([10, 100, 100]), np.array([1.0, 1.0, 2.0]), 1000, integer=True).tolist() == [
        10,
        100,
        100,
    ]
    assert water_fill(np.array([50, 50]), np.array([0.0, 1.0]), 80, integer=True).tolist() == [0, 50]
    np.testing.assert_allclose(water_fill(np.array([5.0, 5.0]), np.array([1.0, 3.0]), 4), [1.0, 3.0])


def test_water_fill_rejects_negative_weights():
    with pytest.raises(ValueError):
        water_fill(np.array([1.0]), np.array([-1.0]), 1)


def test_tree_quotas_balance_top_clusters_then_their_children():
    # Leaves 0, 1 under top cluster 0; leaves 2, 3 under top cluster 1.
    sizes = np.array([1000, 10, 5, 5])
    quotas = tree_quotas(sizes, [np.array([0, 0, 1, 1])], 40)
    # Top cluster 1 has only 10 documents, so cluster 0 gets 30: 20 + 10 between its leaves (leaf 1 is full).
    assert quotas.tolist() == [20, 10, 5, 5]
    assert tree_quotas(sizes, [np.array([0, 0, 1, 1])], 10_000).tolist() == sizes.tolist()


def test_hashed_features_count_unigrams_and_bigrams():
    ids = hashed_ngrams.features("The cat sat, the cat!", buckets=1000)
    assert len(ids) == 7 + 6  # tokens: the cat sat , the cat !
    assert ids.min() >= 0 and ids.max() < 1000
    np.testing.assert_array_equal(ids, hashed_ngrams.features("the CAT sat, the cat!", buckets=1000))
    forward = hashed_ngrams.features("red fox", buckets=1 << 20)
    backward = hashed_ngrams.features("fox red", buckets=1 << 20)
    assert set(forward[:2]) == set(backward[:2]) and forward[2] != backward[2]
    assert hashed_ngrams.features("   ", buckets=10).size == 0


def test_log_importance_prefers_target_like_text():
    target = ["stock markets rallied as investors cheered earnings"] * 3
    raw = ["the recipe needs two cups of flour and sugar"] * 3
    t = hashed_ngrams.distribution(hashed_ngrams.counts(target, 512), 1.0)
    r = hashed_ngrams.distribution(hashed_ngrams.counts(target + raw, 512), 1.0)
    weights = hashed_ngrams.log_importance(["investors cheered the markets", "two cups of sugar"], np.log(t / r))
    assert weights[0] > weights[1]
    assert hashed_ngrams.kl_divergence(t, t) == pytest.approx(0.0)
    assert hashed_ngrams.kl_divergence(t, r) > 0
