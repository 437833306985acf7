"""Spherical k-means on L2-normalized vectors (numpy, runs on the driver over a bounded sample).

Similarity is the cosine (a dot product of unit vectors); centroids are renormalized after every update.
Everything is deterministic for a fixed seed and a fixed input order: k-means++ seeding draws from a seeded
generator, and ties in assignment go to the lowest centroid index.
"""

from __future__ import annotations

import numpy as np

from thresher.models.embeddings import l2_normalize

_ASSIGN_BLOCK = 4096


def assign(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid of each row of `x` (index, cosine similarity), in blocks to bound memory."""
    labels = np.empty(len(x), dtype=np.int32)
    similarity = np.empty(len(x), dtype=np.float32)
    for start in range(0, len(x), _ASSIGN_BLOCK):
        sims = x[start : start + _ASSIGN_BLOCK] @ centroids.T
        best = np.argmax(sims, axis=1)
        labels[start : start + len(best)] = best
        similarity[start : start + len(best)] = sims[np.arange(len(best)), best]
    return labels, similarity


def kmeans(x: np.ndarray, k: int, seed: int, iterations: int = 25) -> np.ndarray:
    """`min(k, distinct rows)` unit-norm centroids of the unit vectors `x` (rows in a deterministic order)."""
    if len(x) == 0:
        raise ValueError("k-means needs at least one vector")
    x = l2_normalize(np.asarray(x, dtype=np.float32))
    rng = np.random.default_rng(seed)
    centroids = _kmeans_plus_plus(x, k, rng)
    for _ in range(iterations):
        labels, _ = assign(x, centroids)
        sums = _cluster_sums(x, labels, len(centroids))
        empty = ~sums.any(axis=1)
        updated = l2_normalize(sums)
        # An emptied centroid stays where it was rather than collapsing to zero.
        updated[empty] = centroids[empty]
        if np.array_equal(updated, centroids):
            break
        centroids = updated
    return centroids


def _cluster_sums(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(k))
    present = np.bincount(labels, minlength=k) > 0
    sums = np.zeros((k, x.shape[1]), dtype=np.float32)
    if present.any():
        sums[present] = np.add.reduceat(x[order], starts[present], axis=0)
    return sums


def _kmeans_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    chosen = [int(rng.integers(len(x)))]
    # Squared chordal distance between unit vectors: 2 - 2 cos.
    distance = np.maximum(2.0 - 2.0 * (x @ x[chosen[0]]), 0.0)
    while len(chosen) < k:
        total = float(distance.sum())
        if total <= 1e-12:
            break  # every remaining point coincides with a chosen centroid
        pick = int(np.searchsorted(np.cumsum(distance), rng.random() * total, side="right"))
        pick = min(pick, len(x) - 1)
        chosen.append(pick)
        distance = np.minimum(distance, np.maximum(2.0 - 2.0 * (x @ x[pick]), 0.0))
    return x[chosen].copy()


def hierarchical_kmeans(
    x: np.ndarray, ks: list[int], seed: int, iterations: int = 25
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Vo et al. (2024): k-means on the points (level 1), then k-means on the centroids of each level.

    Returns the level-1 centroids and, for each higher level, the parent of every node of the level below
    (`parents[0][i]` is the level-2 cluster of leaf cluster i).
    """
    leaves = kmeans(x, ks[0], seed, iterations)
    parents: list[np.ndarray] = []
    centroids = leaves
    for depth, k in enumerate(ks[1:], start=1):
        upper = kmeans(centroids, min(k, len(centroids)), seed + depth, iterations)
        labels, _ = assign(centroids, upper)
        parents.append(labels)
        centroids = upper
    return leaves, parents
