"""SemDeDup's decision inside one group of documents (Abbas et al. 2023), in numpy.

The documents arrive in keep-priority order (the one to keep first). Walking that order, a document is a
semantic duplicate when its cosine similarity to a document already kept exceeds `1 - eps`; it records the
most similar kept document. Similarities are computed block by block, so memory is `block x group size`
floats however large the group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BLOCK = 256


@dataclass
class GroupDecision:
    keep: np.ndarray  # bool, per document
    duplicate_of: np.ndarray  # int index of the kept document it duplicates, -1 when kept
    similarity: np.ndarray  # float32: highest similarity to a kept document before it (NaN for the first)


def greedy_dedup(vectors: np.ndarray, eps: float, block: int = DEFAULT_BLOCK) -> GroupDecision:
    """Decide for unit vectors given in keep-priority order."""
    n = len(vectors)
    threshold = np.float32(1.0 - eps)
    keep = np.ones(n, dtype=bool)
    duplicate_of = np.full(n, -1, dtype=np.int64)
    similarity = np.full(n, np.nan, dtype=np.float32)
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    for start in range(0, n, block):
        stop = min(start + block, n)
        rows = x[start:stop]
        # Against every kept document of earlier blocks, in one matrix product.
        earlier = np.flatnonzero(keep[:start])
        if earlier.size:
            sims = rows @ x[earlier].T
            best = np.argmax(sims, axis=1)
            best_sim = sims[np.arange(len(rows)), best]
            similarity[start:stop] = best_sim
            hit = best_sim > threshold
            keep[start:stop][hit] = False
            duplicate_of[start:stop][hit] = earlier[best[hit]]
        # Within the block, in order: only documents kept so far can make a later one a duplicate.
        inner = rows @ rows.T
        for i in range(1, stop - start):
            if not keep[start + i]:
                continue
            candidates = np.flatnonzero(keep[start : start + i])
            if not candidates.size:
                continue
            sims_i = inner[i, candidates]
            j = int(np.argmax(sims_i))
            if np.isnan(similarity[start + i]) or sims_i[j] > similarity[start + i]:
                similarity[start + i] = sims_i[j]
            if sims_i[j] > threshold:
                keep[start + i] = False
                duplicate_of[start + i] = start + candidates[j]
    return GroupDecision(keep, duplicate_of, similarity)
