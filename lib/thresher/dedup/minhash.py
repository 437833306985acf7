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
# Shingles per numpy block: bounds the temporary (block x num_perm) matrix for any document size; 1,024 x 112
# permutations (0.9 MB) measured fastest on documents of a few KB (it mostly stays in cache).
_BLOCK = 1024


class MinHasher:
    def __init__(self, num_perm: int, seed: int = 1) -> None:
        self.num_perm = num_perm
        self.a = seeded_constants(num_perm, seed, "a") | np.uint64(1)
        self.b = seeded_constants(num_perm, seed, "b")

    def signatures(self, hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """(documents x num_perm) uint64 signatures; a document without shingles gets a row of EMPTY."""
        docs = len(offsets) - 1
        out = np.full((docs, self.num_perm), EMPTY, dtype=np.uint64)
        scratch = np.empty((_BLOCK, self.num_perm), dtype=np.uint64)
        partial = np.empty(self.num_perm, dtype=np.uint64)
        bounds = offsets.tolist()  # Python ints: per-document slicing without numpy scalars
        for doc in range(docs):
            start, end = bounds[doc], bounds[doc + 1]
            row = out[doc]
            for block in range(start, end, _BLOCK):
                x = hashes[block : min(block + _BLOCK, end)]
                values = scratch[: len(x)]
                np.multiply(x[:, None], self.a, out=values)
                np.add(values, self.b, out=values)
                # The first block writes the row; later ones (documents over _BLOCK shingles) lower it.
                np.minimum.reduce(values, axis=0, out=row if block == start else partial)
                if block != start:
                    np.minimum(row, partial, out=row)
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
