"""k-means over a DataFrame's embeddings: centroids fitted on the driver on a bounded, hash-chosen sample,
then every vector assigned to its nearest centroid on the executors (materialized in scratch)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import FloatType, IntegerType, StructField, StructType

from thresher.core.scratch import Scratch
from thresher.schema import DOC_ID
from thresher.select.kmeans import hierarchical_kmeans, kmeans
from thresher.select.vectors import (
    CLUSTER,
    SIMILARITY,
    VECTOR,
    NearestCentroid,
    check_dimensions,
    sample_vectors,
    vector_column,
)


@dataclass
class Embeddings:
    """Documents that have a vector: (doc_id, _vector, extra columns), with their count and dimension."""

    frame: DataFrame
    count: int
    dim: int


def embeddings(df: DataFrame, path: str, stage_id: str, scratch: Scratch, *extra) -> Embeddings:
    vector = vector_column(df, path, stage_id)
    frame = scratch.materialize(
        df.select(F.col(DOC_ID), vector.alias(VECTOR), *extra).where(F.col(VECTOR).isNotNull()), f"{stage_id}_vectors"
    )
    count, dim = check_dimensions(frame, stage_id)
    return Embeddings(frame, count, dim)


def fit_centroids(data: Embeddings, k: int, sample_size: int, seed: int, iterations: int) -> np.ndarray:
    sample = sample_vectors(data.frame, data.count, sample_size, seed)
    return kmeans(sample, min(k, len(sample)), seed, iterations)


def fit_tree(
    data: Embeddings, ks: list[int], sample_size: int, seed: int, iterations: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    sample = sample_vectors(data.frame, data.count, sample_size, seed)
    return hierarchical_kmeans(sample, [min(ks[0], len(sample)), *ks[1:]], seed, iterations)


def assign_clusters(data: Embeddings, centroids: np.ndarray, scratch: Scratch, name: str) -> DataFrame:
    """data.frame + `_cluster` (int) and `_similarity` (cosine to that centroid), materialized."""
    keep = tuple(c for c in data.frame.columns if c != DOC_ID)
    schema = StructType(
        [
            *(data.frame.schema[c] for c in (DOC_ID, *keep)),
            StructField(CLUSTER, IntegerType()),
            StructField(SIMILARITY, FloatType()),
        ]
    )
    return scratch.materialize(data.frame.mapInArrow(NearestCentroid(centroids, keep), schema), name)
