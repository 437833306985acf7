"""`semantic_dedup`: SemDeDup (Abbas et al. 2023) over document embeddings.

k-means clusters the embeddings; inside each cluster documents are ranked by the keep policy and a document
whose cosine similarity to an already kept one exceeds `1 - eps` is removed as `semantic_duplicate`, with
`duplicate_of` naming that document. Clusters larger than `max_group_size` are split by k-means again (up to
`max_split_depth` times) and what is still too large is cut into fixed-size blocks in keep-priority order, so
no Python call ever holds more than `max_group_size` vectors. Documents without a vector are kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import Field, model_validator
from pyspark.accumulators import Accumulator, AccumulatorParam
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, FloatType, StringType, StructField, StructType

from thresher.models.embeddings import l2_normalize, vectors_from_pandas
from thresher.schema import DOC_ID
from thresher.select.clustering import Embeddings, assign_clusters, embeddings, fit_centroids
from thresher.select.columns import require_column
from thresher.select.kmeans import assign, kmeans
from thresher.select.ranking import GROUP, RUNNING, VALUE, OrderKey, running_totals
from thresher.select.result import attach
from thresher.select.semdedup import greedy_dedup
from thresher.select.vectors import CLUSTER, SIMILARITY, VECTOR, to_matrix, uniform
from thresher.stages.base import GlobalStage, StageContext, StageParams, StageReport
from thresher.stages.registry import register

SEMANTIC_DUPLICATE = "semantic_duplicate"
_PRIORITY = "_priority"


class SemanticDedupParams(StageParams):
    vector_column: str = Field(
        default="embed.vector",
        description="Dotted path of the embedding vector column (the `embed` stage writes `embed.vector`).",
    )
    # Documents whose cosine similarity to a kept document exceeds 1 - eps are duplicates.
    eps: float = Field(default=0.07, gt=0, lt=1)
    clusters: int = Field(
        default=100, ge=1, description="k of the k-means that groups the documents before comparing them."
    )
    # Vectors the k-means centroids are fitted on (collected to the driver).
    sample_size: int = Field(default=50_000, ge=2)
    iterations: int = Field(default=25, ge=1, description="k-means iterations.")
    # Which document of a duplicate set is kept: the one closest to / farthest from its cluster centroid, or
    # the highest `score_column`.
    keep: Literal["closest_to_centroid", "farthest_from_centroid", "score"] = "closest_to_centroid"
    score_column: str | None = Field(
        default=None,
        description="With `keep: score`: the dotted path of the numeric column whose largest value is kept.",
    )
    # Most documents compared in one Python call; larger clusters are split.
    max_group_size: int = Field(default=5_000, ge=2)
    max_split_depth: int = Field(
        default=2,
        ge=0,
        description="Times a cluster larger than `max_group_size` is split again by k-means before it is "
        "cut into blocks.",
    )

    @model_validator(mode="after")
    def _score_policy_has_a_column(self) -> SemanticDedupParams:
        if self.keep == "score" and not self.score_column:
            raise ValueError("keep: score needs score_column (a numeric column, e.g. quality_fasttext.score)")
        return self


class _Max(AccumulatorParam):
    def zero(self, value: int) -> int:
        return 0

    def addInPlace(self, value1: int, value2: int) -> int:
        return max(value1, value2)


@register
class SemanticDedup(GlobalStage):
    """SemDeDup: remove documents whose embedding is within 1 - eps cosine of a kept one in its cluster."""

    id = "semantic_dedup"
    Params = SemanticDedupParams
    params: SemanticDedupParams

    def signal_fields(self) -> list[StructField]:
        return [
            StructField("duplicate_of", StringType()),
            StructField("similarity", FloatType()),
            StructField("cluster", StringType()),
        ]

    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        report = StageReport()
        p = self.params
        if p.keep == "score":
            require_column(df, p.score_column, self.id, "keep: score")
        data = embeddings(df, p.vector_column, self.id, ctx.scratch_space, self._score().alias("_score"))
        report.metrics.update(docs_with_vector=data.count, docs_without_vector=df.count() - data.count)
        if data.count == 0:
            decisions = ctx.spark.createDataFrame([], _DECISIONS)
        else:
            groups = self._groups(data, ctx, report)
            largest = ctx.spark.sparkContext.accumulator(0, _Max())
            decisions = ctx.materialize(
                groups.groupBy(GROUP).applyInPandas(_group_dedup(p.eps, largest), _DECISIONS), "decisions"
            )
            report.metrics["duplicates"] = decisions.where(~F.col("_keep")).count()
            report.metrics["largest_group"] = largest.value
        return attach(
            df,
            decisions,
            self.id,
            keep=F.coalesce(F.col("_keep"), F.lit(True)),
            reason=F.lit(SEMANTIC_DUPLICATE),
            signals=[
                F.col("_duplicate_of").alias("duplicate_of"),
                F.col("_best").alias("similarity"),
                F.col("_group").alias("cluster"),
            ],
        ), report

    def _score(self):
        p = self.params
        if p.keep == "score":
            return F.col(p.score_column).cast("double")
        return F.lit(None).cast("double")

    def _groups(self, data: Embeddings, ctx: StageContext, report: StageReport) -> DataFrame:
        """(doc_id, _vector, _priority, _group) with every group at most max_group_size documents."""
        p = self.params
        centroids = fit_centroids(data, p.clusters, p.sample_size, ctx.seed, p.iterations)
        assigned = assign_clusters(data, centroids, ctx.scratch_space, "assigned")
        priority = {
            "closest_to_centroid": -F.col(SIMILARITY),
            "farthest_from_centroid": F.col(SIMILARITY),
            "score": -F.col("_score"),
        }[p.keep]
        frame = assigned.select(
            DOC_ID, VECTOR, priority.cast("double").alias(_PRIORITY), F.col(CLUSTER).cast("string").alias(GROUP)
        )
        report.metrics["clusters"] = len(centroids)
        split = 0
        for depth in range(p.max_split_depth):
            large = _large_groups(frame, p.max_group_size)
            if not large:
                break
            split += len(large)
            frame = ctx.materialize(self._split(frame, large, ctx.seed + depth + 1), f"split_{depth}")
        report.metrics["groups_split"] = split
        large = _large_groups(frame, p.max_group_size)
        if large:
            frame = self._blocks(frame, large, ctx)
        report.metrics["groups_blocked"] = len(large)
        return frame

    def _split(self, frame: DataFrame, large: dict[str, int], seed: int) -> DataFrame:
        """Sub-cluster each over-large group with k-means fitted on a bounded sample of its vectors."""
        p = self.params
        per_group = max(2, min(p.sample_size // max(1, len(large)), p.max_group_size))
        fractions = F.create_map(
            *[x for g, n in large.items() for x in (F.lit(g), F.lit(min(1.0, 1.5 * per_group / n)))]
        )
        picked = (
            frame.where(F.col(GROUP).isin(list(large)))
            .select(GROUP, DOC_ID, VECTOR, uniform(seed, F.col(DOC_ID)).alias("_key"))
            .where(F.col("_key") <= fractions[F.col(GROUP)])
            .toArrow()
        )
        sub_centroids = {}
        groups = np.asarray(picked.column(GROUP).to_pylist())
        keys = picked.column("_key").to_numpy()
        ids = np.asarray(picked.column(DOC_ID).to_pylist())
        vectors = to_matrix(picked.column(VECTOR))
        for group, size in large.items():
            rows = np.flatnonzero(groups == group)
            rows = rows[np.lexsort((ids[rows], keys[rows]))][:per_group]
            k = max(2, math.ceil(2 * size / p.max_group_size))
            sub_centroids[group] = kmeans(vectors[rows], min(k, len(rows)), seed, p.iterations)
        return frame.mapInArrow(_SubCluster(sub_centroids), frame.schema)

    def _blocks(self, frame: DataFrame, large: dict[str, int], ctx: StageContext) -> DataFrame:
        """Cut groups still too large into consecutive blocks of max_group_size in keep-priority order."""
        inside = frame.where(F.col(GROUP).isin(list(large))).select(
            DOC_ID, GROUP, _PRIORITY, F.lit(1).cast("long").alias(VALUE)
        )
        ranked = running_totals(inside, [OrderKey(_PRIORITY)], ctx.scratch_space, "blocks")
        block = F.concat(
            F.col(GROUP), F.lit("#"), ((F.col(RUNNING) - 1) / self.params.max_group_size).cast("long").cast("string")
        )
        blocks = ranked.select(DOC_ID, block.alias("_block"))
        joined = frame.join(blocks, on=DOC_ID, how="left")
        return ctx.materialize(
            joined.select(DOC_ID, VECTOR, _PRIORITY, F.coalesce(F.col("_block"), F.col(GROUP)).alias(GROUP)), "blocks"
        )


def _large_groups(frame: DataFrame, cap: int) -> dict[str, int]:
    rows = frame.groupBy(GROUP).count().where(F.col("count") > cap).collect()
    return {r[GROUP]: int(r["count"]) for r in sorted(rows, key=lambda r: r[GROUP])}


class _SubCluster:
    """mapInArrow: rows of a split group get `<group>.<sub-cluster>`; other rows pass unchanged."""

    def __init__(self, centroids: dict[str, np.ndarray]) -> None:
        self.centroids = centroids

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            groups = np.asarray(batch.column(GROUP).to_pylist(), dtype=object)
            vectors = batch.column(VECTOR)
            for group, centroids in self.centroids.items():
                rows = np.flatnonzero(groups == group)
                if rows.size:
                    labels, _ = assign(to_matrix(vectors.take(pa.array(rows))), centroids)
                    groups[rows] = [f"{group}.{label}" for label in labels]
            index = batch.schema.get_field_index(GROUP)
            yield batch.set_column(index, GROUP, pa.array(groups.tolist(), pa.string()))


_DECISIONS = StructType(
    [
        StructField(DOC_ID, StringType()),
        StructField("_keep", BooleanType()),
        StructField("_duplicate_of", StringType()),
        StructField("_best", FloatType()),
        StructField("_group", StringType()),
    ]
)


def _group_dedup(eps: float, largest: Accumulator) -> Callable[[tuple, pd.DataFrame], pd.DataFrame]:
    """The applyInPandas function: greedy SemDeDup over one group in (priority, doc_id) order. (A closure, not
    a callable object: applyInPandas inspects the function's arguments.)"""

    def decide(key: tuple, group: pd.DataFrame) -> pd.DataFrame:
        largest.add(len(group))
        ordered = group.sort_values([_PRIORITY, DOC_ID], na_position="last", kind="stable")
        vectors, _ = vectors_from_pandas(ordered[VECTOR])
        decision = greedy_dedup(l2_normalize(vectors), eps)
        ids = ordered[DOC_ID].to_numpy()
        duplicate_of = np.where(decision.duplicate_of >= 0, ids[np.maximum(decision.duplicate_of, 0)], None)
        return pd.DataFrame(
            {
                DOC_ID: ids,
                "_keep": decision.keep,
                "_duplicate_of": duplicate_of,
                "_best": decision.similarity,
                "_group": ordered[GROUP].to_numpy(),
            }
        )

    return decide
