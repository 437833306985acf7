"""`prototype_prune`: self-supervised prototype pruning (Sorscher et al. 2022, "Beyond neural scaling laws").

k-means over the embeddings gives prototypes; a document's difficulty is its cosine distance to the nearest
prototype. A fraction of the documents is kept: the hardest (far from every prototype; best when data is
plentiful), the easiest (typical documents; best when data is scarce), or both ends (the middle is pruned).
Documents not kept are `pruned`; documents without a vector are `no_embedding`.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import FloatType, IntegerType, LongType, StructField

from thresher.schema import DOC_ID
from thresher.select.clustering import assign_clusters, embeddings, fit_centroids
from thresher.select.ranking import GROUP, RUNNING, VALUE, OrderKey, running_totals
from thresher.select.result import attach
from thresher.select.vectors import CLUSTER, SIMILARITY
from thresher.stages.base import GlobalStage, StageContext, StageParams, StageReport
from thresher.stages.registry import register

PRUNED = "pruned"
NO_EMBEDDING = "no_embedding"


class PrototypePruneParams(StageParams):
    vector_column: str = Field(
        default="embed.vector",
        description="Dotted path of the embedding vector column (the `embed` stage writes `embed.vector`).",
    )
    clusters: int = Field(default=100, ge=1, description="k of the k-means whose centroids are the prototypes.")
    keep_fraction: float = Field(
        default=0.5, gt=0, le=1, description="Fraction of the documents with a vector that is kept."
    )
    keep: Literal["hardest", "easiest", "both_ends"] = Field(
        default="hardest",
        description="Which documents are kept: the farthest from their prototype (hardest), the "
        "closest, or both ends.",
    )
    sample_size: int = Field(default=50_000, ge=2, description="Documents sampled to fit the k-means centroids.")
    iterations: int = Field(default=25, ge=1, description="k-means iterations.")


@register
class PrototypePrune(GlobalStage):
    """Keep a fraction of documents by distance to the nearest k-means prototype (hardest/easiest/both ends)."""

    id = "prototype_prune"
    Params = PrototypePruneParams
    params: PrototypePruneParams

    def signal_fields(self) -> list[StructField]:
        return [
            StructField("cluster", IntegerType()),
            StructField("distance", FloatType()),
            StructField("hardness_rank", LongType()),
        ]

    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        report = StageReport()
        p = self.params
        data = embeddings(df, p.vector_column, self.id, ctx.scratch_space)
        keep_total = round(p.keep_fraction * data.count)
        hardest = {"hardest": keep_total, "easiest": 0, "both_ends": math.ceil(keep_total / 2)}[p.keep]
        easiest = keep_total - hardest
        report.metrics.update(docs_with_vector=data.count, kept_hardest=hardest, kept_easiest=easiest)
        if data.count == 0:
            decisions = ctx.spark.createDataFrame([], "doc_id string, _cluster int, _distance float, _rank long")
        else:
            centroids = fit_centroids(data, p.clusters, p.sample_size, ctx.seed, p.iterations)
            assigned = assign_clusters(data, centroids, ctx.scratch_space, "assigned")
            distance = (F.lit(1.0) - F.col(SIMILARITY)).cast("float")
            # Rank 1 = hardest (farthest from its prototype); ties broken by doc_id.
            ranked = running_totals(
                assigned.select(
                    DOC_ID, F.lit("").alias(GROUP), F.lit(1).cast("long").alias(VALUE), distance.alias("_distance")
                ),
                [OrderKey("_distance", descending=True)],
                ctx.scratch_space,
                "ranked",
            )
            decisions = ranked.select(DOC_ID, F.col(RUNNING).alias("_rank")).join(
                assigned.select(DOC_ID, F.col(CLUSTER).alias("_cluster"), distance.alias("_distance")), on=DOC_ID
            )
            report.metrics["clusters"] = len(centroids)
        rank = F.col("_rank")
        picked = (rank <= F.lit(hardest)) | (rank > F.lit(data.count - easiest))
        return attach(
            df,
            decisions,
            self.id,
            keep=F.coalesce(picked, F.lit(False)),
            reason=F.when(rank.isNotNull(), F.lit(PRUNED)).otherwise(F.lit(NO_EMBEDDING)),
            signals=[
                F.col("_cluster").alias("cluster"),
                F.col("_distance").alias("distance"),
                rank.alias("hardness_rank"),
            ],
        ), report
