"""The per-batch work of the dedup stages, as callables for `DataFrame.mapInArrow` (Spark-free: tests call
`run_batch` on Arrow batches built from Python lists).

Every callable reads `doc_id`, `rank` (the keep-policy order, passed through) and its input column, and
writes one row per input row.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from thresher.dedup.columns import CLUSTER, RANK
from thresher.dedup.minhash import MinHasher, band_keys
from thresher.dedup.normalize import TextNormalization, normalize_texts
from thresher.dedup.shingles import Shingles, Unit, shingle_hashes
from thresher.dedup.urls import UrlNormalization, normalize_url
from thresher.schema import DOC_ID, TEXT, URL


class _Batches(ABC):
    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield self.run_batch(batch)

    @abstractmethod
    def run_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """One output row per input row."""


@dataclass(frozen=True)
class TextHashBatches(_Batches):
    """cluster = xxh3-128 (hex) of the normalized text; null when nothing is left of it."""

    normalization: TextNormalization

    def run_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        normalized = normalize_texts(batch.column(TEXT), self.normalization)
        keys = [xxhash.xxh3_128_hexdigest(t) if t else None for t in pc.cast(normalized, pa.binary()).to_pylist()]
        return pa.RecordBatch.from_arrays(
            [batch.column(DOC_ID), batch.column(RANK), pa.array(keys, pa.string())], [DOC_ID, RANK, CLUSTER]
        )


@dataclass(frozen=True)
class UrlKeyBatches(_Batches):
    """cluster = the normalized URL; null without a usable URL."""

    normalization: UrlNormalization

    def run_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        keys = [normalize_url(u, self.normalization) for u in batch.column(URL).to_pylist()]
        return pa.RecordBatch.from_arrays(
            [batch.column(DOC_ID), batch.column(RANK), pa.array(keys, pa.string())], [DOC_ID, RANK, CLUSTER]
        )


@dataclass(frozen=True)
class MinHashSettings:
    normalization: TextNormalization
    unit: Unit
    ngram: int
    num_perm: int
    bands: int
    rows: int
    seed: int
    # Also output the full signature (for verification by estimated Jaccard) ...
    with_signature: bool = False
    # ... or the set of shingle hashes (for verification by exact Jaccard).
    with_shingle_set: bool = False


class MinHashBatches(_Batches):
    """units, shingles, band bucket keys (and optionally signature / shingle set) of every document."""

    def __init__(self, settings: MinHashSettings) -> None:
        self.settings = settings
        normalization = settings.normalization
        if settings.unit == "word" and not normalization.collapse_whitespace:
            # Words are whitespace-separated: spacing never matters to word shingles.
            normalization = normalization.model_copy(update={"collapse_whitespace": True})
        self.normalization = normalization
        self._hasher: MinHasher | None = None

    @property
    def hasher(self) -> MinHasher:
        if self._hasher is None:
            self._hasher = MinHasher(self.settings.num_perm, self.settings.seed)
        return self._hasher

    def __getstate__(self) -> dict:
        return {"settings": self.settings, "normalization": self.normalization, "_hasher": None}

    def shingles(self, texts: pa.Array) -> Shingles:
        s = self.settings
        return shingle_hashes(normalize_texts(texts, self.normalization), s.unit, s.ngram)

    def run_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        s = self.settings
        shingles = self.shingles(batch.column(TEXT))
        counts = shingles.counts
        signatures = self.hasher.signatures(shingles.hashes, shingles.offsets)
        has_shingles = counts > 0
        keys = band_keys(signatures[has_shingles], s.bands, s.rows, s.seed)
        names = [DOC_ID, RANK, "units", "shingles", "buckets"]
        arrays = [
            batch.column(DOC_ID),
            batch.column(RANK),
            pa.array(shingles.units, pa.int64()),
            pa.array(counts, pa.int64()),
            _lists(np.where(has_shingles, s.bands, 0), keys.ravel()),
        ]
        if s.with_signature:
            names.append("signature")
            arrays.append(
                _lists(np.where(has_shingles, s.num_perm, 0), signatures[has_shingles].view(np.int64).ravel())
            )
        if s.with_shingle_set:
            sets = [np.unique(shingles.of(i)) for i in range(len(counts))]
            sizes = np.fromiter((len(x) for x in sets), dtype=np.int64, count=len(sets))
            values = np.concatenate(sets) if sets else np.empty(0, dtype=np.uint64)
            names.append("shingle_set")
            arrays.append(_lists(sizes, values.view(np.int64)))
        return pa.RecordBatch.from_arrays(arrays, names)


def _lists(lengths: np.ndarray, values: np.ndarray) -> pa.Array:
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, pa.int64()))
