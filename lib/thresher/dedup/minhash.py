"""MinHash signatures, LSH band keys and the choice of bands x rows (numpy, Spark-free).

Permutation i maps a shingle hash x to (a_i * x + b_i) mod 2**64 (a_i odd, so it is a bijection); the
signature keeps the minimum per permutation. Coefficients derive from xxh3 of the seed, so signatures are
identical on every machine and numpy version.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from thresher.dedup.hashing import chain, fmix64, seeded_constants

EMPTY = np.iinfo(np.uint64).max
# Shingles per chunk (128 KB of uint64): enough to amortise the 3 numpy calls per permutation, small enough
# for the cache; measured fastest from 16k to 64k shingles (4k: per-call overhead dominates).
_CHUNK = 16384


class MinHasher:
    def __init__(self, num_perm: int, seed: int = 1) -> None:
        self.num_perm = num_perm
        self.a = seeded_constants(num_perm, seed, "a") | np.uint64(1)
        self.b = seeded_constants(num_perm, seed, "b")

    def signatures(self, hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """(documents x num_perm) uint64 signatures; a document without shingles gets a row of EMPTY.

        One permutation at a time over a chunk of up to _CHUNK shingles of consecutive documents: numpy's
        contiguous uint64 kernels (multiply by a scalar, add, per-document minimum by reduceat) are about twice
        as fast as the broadcast (shingles x permutations) matrix, and the chunk stays in cache. Longer
        documents are cut into segments of _CHUNK, whose minima are then combined."""
        docs = len(offsets) - 1
        out = np.full((docs, self.num_perm), EMPTY, dtype=np.uint64)
        counts = np.diff(offsets)
        nonempty = np.flatnonzero(counts)
        if not len(nonempty):
            return out
        pieces = (counts[nonempty] + _CHUNK - 1) // _CHUNK
        segments = int(pieces.sum())
        first_segment = np.concatenate([[0], np.cumsum(pieces)[:-1]])
        within = np.arange(segments) - np.repeat(first_segment, pieces)
        segment_starts = np.repeat(offsets[nonempty], pieces) + within * _CHUNK
        segment_ends = np.minimum(segment_starts + _CHUNK, np.repeat(offsets[nonempty + 1], pieces))
        minima = np.empty((segments, self.num_perm), dtype=np.uint64)
        scratch = np.empty(_CHUNK, dtype=np.uint64)
        coefficients = list(zip(self.a, self.b, strict=True))  # numpy scalars: uint64 arithmetic throughout
        starts, ends = segment_starts.tolist(), segment_ends.tolist()
        low = 0
        while low < segments:
            high = low + 1
            while high < segments and ends[high] - starts[low] <= _CHUNK:
                high += 1
            x = hashes[starts[low] : ends[high - 1]]
            values = scratch[: len(x)]
            local_starts = segment_starts[low:high] - starts[low]
            for column, (a, b) in enumerate(coefficients):
                np.multiply(x, a, out=values)
                np.add(values, b, out=values)
                np.minimum.reduceat(values, local_starts, out=minima[low:high, column])
            low = high
        out[nonempty] = minima if segments == len(nonempty) else np.minimum.reduceat(minima, first_segment, axis=0)
        return out


def band_keys(signatures: np.ndarray, bands: int, rows: int, seed: int = 1) -> np.ndarray:
    """(documents x bands) int64 bucket keys: band j hashes signature columns j*rows .. (j+1)*rows - 1.

    The band index is part of the hash, so one key identifies a (band, values) bucket across all bands."""
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"{bands} bands x {rows} rows need {bands * rows} permutations, have {signatures.shape[1]}")
    band_seeds = fmix64(seeded_constants(bands, seed, "band"))
    keys = np.empty((signatures.shape[0], bands), dtype=np.uint64)
    for band in range(bands):
        state = np.full(signatures.shape[0], band_seeds[band], dtype=np.uint64)
        for column in range(band * rows, (band + 1) * rows):
            state = chain(state, signatures[:, column])
        keys[:, band] = state
    return keys.view(np.int64)


def estimated_jaccard(first: np.ndarray, second: np.ndarray) -> float:
    """Share of permutations on which two signatures agree: an unbiased estimate of their Jaccard similarity."""
    return float(np.mean(first == second))


def candidate_probability(similarity: np.ndarray | float, bands: int, rows: int) -> np.ndarray | float:
    """Probability that two documents with this Jaccard similarity share at least one band bucket."""
    return 1.0 - (1.0 - np.power(similarity, rows)) ** bands


@cache
def pick_bands_rows(threshold: float, num_perm: int, false_positive_weight: float = 0.5) -> tuple[int, int]:
    """The (bands, rows) with bands * rows <= num_perm minimising the weighted area of false positives
    (similarity below `threshold` yet candidates) plus false negatives (above it yet not candidates)."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    grid = np.linspace(0.0, 1.0, 2001)
    below, above = grid <= threshold, grid >= threshold
    best: tuple[float, int, int] | None = None
    for rows in range(1, num_perm + 1):
        for bands in range(1, num_perm // rows + 1):
            probability = candidate_probability(grid, bands, rows)
            false_positive = np.trapezoid(probability[below], grid[below])
            false_negative = np.trapezoid(1.0 - probability[above], grid[above])
            error = false_positive_weight * false_positive + (1.0 - false_positive_weight) * false_negative
            if best is None or error < best[0] - 1e-12:
                best = (error, bands, rows)
    assert best is not None
    return best[1], best[2]
