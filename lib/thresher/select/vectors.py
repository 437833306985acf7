"""Embedding vectors in a DataFrame: validation, a deterministic bounded sample for k-means on the driver, and
nearest-centroid assignment on executors.

The vector column is a dotted path (default `embed.vector`, the `embed` stage's L2-normalized float32
embedding). The sample is chosen by a seeded hash of doc_id, so it does not depend on partitioning.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DoubleType, FloatType

from thresher.errors import ThresherError
from thresher.models.embeddings import l2_normalize, vectors_from_arrow
from thresher.schema import DOC_ID
from thresher.select.columns import require_column
from thresher.select.kmeans import assign

VECTOR = "_vector"
CLUSTER = "_cluster"
SIMILARITY = "_similarity"


def vector_column(df: DataFrame, path: str, stage_id: str) -> Column:
    kind = require_column(df, path, stage_id, "embedding vectors")
    if not (isinstance(kind, ArrayType) and isinstance(kind.elementType, FloatType | DoubleType)):
        raise ThresherError(f"stage {stage_id}: column {path!r} is {kind.simpleString()}, not array<float>")
    return F.col(path).cast("array<float>")


def uniform(seed: int, *columns: Column) -> Column:
    """A deterministic value in (0, 1) per row from a seeded 64-bit hash."""
    bits = F.xxhash64(F.lit(seed), *columns).bitwiseAND(F.lit((1 << 53) - 1))
    return (bits.cast("double") + F.lit(0.5)) / F.lit(float(1 << 53))


def check_dimensions(vectors: DataFrame, stage_id: str) -> tuple[int, int]:
    """(number of vectors, dimension) of a frame with `_vector`; all vectors must have one dimension."""
    row = vectors.agg(
        F.count(F.lit(1)).alias("n"), F.min(F.size(VECTOR)).alias("lo"), F.max(F.size(VECTOR)).alias("hi")
    ).first()
    n = int(row["n"])
    if n and row["lo"] != row["hi"]:
        raise ThresherError(f"stage {stage_id}: embedding vectors have {row['lo']} to {row['hi']} dimensions")
    if n and row["lo"] == 0:
        raise ThresherError(f"stage {stage_id}: empty embedding vectors")
    return n, int(row["lo"] or 0)


def sample_vectors(vectors: DataFrame, total: int, size: int, seed: int) -> np.ndarray:
    """Up to `size` vectors chosen by a seeded hash of doc_id (rows in hash order): a bounded collect."""
    if total == 0:
        return np.empty((0, 0), dtype=np.float32)
    fraction = min(1.0, 1.5 * size / total + 1e-9)
    key = uniform(seed, F.col(DOC_ID))
    picked = (
        vectors.select(DOC_ID, VECTOR, key.alias("_key"))
        .where(F.col("_key") <= F.lit(fraction))
        .orderBy("_key", DOC_ID)
        .limit(size)
        .toArrow()
    )
    order = np.lexsort((np.asarray(picked.column(DOC_ID).to_pylist()), picked.column("_key").to_numpy()))
    return to_matrix(picked.column(VECTOR))[order]


def to_matrix(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A list<float> Arrow column without nulls -> a float32 matrix with unit rows."""
    matrix, _ = vectors_from_arrow(column, dim=0)
    return l2_normalize(matrix)


class NearestCentroid:
    """mapInArrow function: (doc_id, _vector, ...) -> the same columns + `_cluster` and `_similarity`.

    Holds only the centroids (k x d floats), so it pickles small."""

    def __init__(self, centroids: np.ndarray, keep_columns: tuple[str, ...] = ()) -> None:
        self.centroids = centroids.astype(np.float32)
        self.keep_columns = keep_columns

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            labels, sims = assign(to_matrix(batch.column(VECTOR)), self.centroids)
            columns = [batch.column(DOC_ID), *(batch.column(c) for c in self.keep_columns)]
            names = [DOC_ID, *self.keep_columns]
            yield pa.RecordBatch.from_arrays(
                [*columns, pa.array(labels, pa.int32()), pa.array(sims, pa.float32())],
                names=[*names, CLUSTER, SIMILARITY],
            )
