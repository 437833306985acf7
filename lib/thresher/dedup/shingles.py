"""Shingles of normalized texts as 64-bit hashes, vectorized over an Arrow batch.

A shingle is `n` consecutive units (words or characters). Its hash chains the xxh3-64 hashes of its units,
so equal shingles hash equally in every document, batch and executor.

Documents with fewer than `n` units get ONE shingle made of all their units: two short documents are then
candidates only when their normalized texts are identical, instead of all sharing the empty signature
(which would put every short document into one cluster). Documents with no unit at all (empty after
normalization) have no shingle and are never duplicates of anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from thresher.dedup.hashing import chain_in_place, xxh3_strings

Unit = Literal["word", "char"]


@dataclass(frozen=True)
class Shingles:
    """Shingle hashes of a batch: `hashes[offsets[i]:offsets[i + 1]]` belong to document i."""

    hashes: np.ndarray  # uint64
    offsets: np.ndarray  # int64, one more than documents
    units: np.ndarray  # int64 per document: words or characters after normalization

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def of(self, doc: int) -> np.ndarray:
        return self.hashes[self.offsets[doc] : self.offsets[doc + 1]]


def split_words(normalized: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """(every word of every text, concatenated; words per text). Empty and null texts have no word.

    The texts must be whitespace-collapsed and trimmed (`normalize_texts` with `collapse_whitespace`)."""
    texts = pc.fill_null(normalized, "")
    pieces = pc.split_pattern(texts, pattern=" ")
    lengths = pc.list_value_length(pieces).to_numpy(zero_copy_only=False).astype(np.int64)
    # Splitting "" yields one empty piece; collapsed non-empty texts have no empty piece.
    nonempty = pc.greater(pc.utf8_length(texts), 0).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(pieces)
    if not nonempty.all():
        flat = pc.filter(flat, pa.array(np.repeat(nonempty, lengths)))
        lengths = np.where(nonempty, lengths, 0)
    return flat, lengths


def unit_hashes(normalized: pa.Array, unit: Unit) -> tuple[np.ndarray, np.ndarray]:
    """(xxh3-64 of every unit of every text, concatenated; units per text)."""
    if unit == "word":
        flat, lengths = split_words(normalized)
        return xxh3_strings(flat), lengths
    codepoints = [
        np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) if text else np.empty(0, dtype=np.uint32)
        for text in normalized.to_pylist()
    ]
    lengths = np.fromiter((len(c) for c in codepoints), dtype=np.int64, count=len(codepoints))
    if not lengths.sum():
        return np.empty(0, dtype=np.uint64), lengths
    distinct, inverse = np.unique(np.concatenate(codepoints), return_inverse=True)
    hashes = np.fromiter(
        (xxhash.xxh3_64_intdigest(chr(c).encode("utf-8", "surrogatepass")) for c in distinct.tolist()),
        dtype=np.uint64,
        count=len(distinct),
    )
    return hashes[inverse], lengths


def shingle_hashes(normalized: pa.Array, unit: Unit, n: int) -> Shingles:
    """Hashes of the `n`-unit shingles of every text (see the module docstring for texts shorter than `n`)."""
    units, lengths = unit_hashes(normalized, unit)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    counts = np.where(lengths >= n, lengths - n + 1, np.minimum(lengths, 1))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    hashes = np.empty(int(offsets[-1]), dtype=np.uint64)
    # level[i] is the hash of units i .. i+k; windows that cross into the next text are computed but unused.
    level = units.copy()
    scratch = np.empty_like(units)
    for k in range(n):
        if k:
            # level[i] for i < len - k: hash of units i .. i+k (the tail is never read again).
            valid = max(len(units) - k, 0)
            chain_in_place(level[:valid], units[k:], scratch[:valid])
        short = np.flatnonzero(lengths == k + 1) if k + 1 < n else np.empty(0, dtype=np.int64)
        hashes[offsets[short]] = level[starts[short]]
    full = np.flatnonzero(lengths >= n)
    if len(full):
        full_counts = counts[full]
        first = np.repeat(offsets[full], full_counts)
        within = np.arange(len(first), dtype=np.int64) - np.repeat(np.cumsum(full_counts) - full_counts, full_counts)
        hashes[first + within] = level[np.repeat(starts[full], full_counts) + within]
    return Shingles(hashes, offsets, lengths)
