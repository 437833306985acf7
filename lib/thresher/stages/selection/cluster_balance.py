"""`cluster_balance`: balanced hierarchical sampling over embedding clusters (Vo et al. 2024, "Automatic Data
Curation for Self-Supervised Learning: A Clustering-Based Approach").

Hierarchical k-means: k-means on the documents (leaf clusters), then k-means on the centroids of each level
(`levels`, leaves first). The target size is split equally among the top-level clusters, each cluster's share
equally among its children (a share a small cluster cannot fill goes to its siblings), down to the leaves;
each leaf then keeps its quota of documents, chosen at random (seeded) or closest to the centroid first.
Documents not chosen are `not_sampled`; documents without a vector are `no_embedding`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, LongType, StructField

from thresher.schema import DOC_ID
from thresher.select.clustering import assign_clusters, embeddings, fit_tree
from thresher.select.quotas import tree_quotas
from thresher.select.ranking import GROUP, RUNNING, VALUE, OrderKey, running_totals
from thresher.select.result import attach
from thresher.select.vectors import CLUSTER, SIMILARITY, uniform
from thresher.stages.base import GlobalStage, StageContext, StageParams, StageReport
from thresher.stages.registry import register

NOT_SAMPLED = "not_sampled"
NO_EMBEDDING = "no_embedding"


class ClusterBalanceParams(StageParams):
    vector_column: str = Field(
        default="embed.vector",
        description="Dotted path of the embedding vector column (the `embed` stage writes `embed.vector`).",
    )
    # Clusters per level, leaves first: [10000, 500, 50] is three levels.
    levels: list[Annotated[int, Field(gt=0)]] = Field(default=[1000, 100, 10], min_length=1)
    # Documents to keep: a count, or a fraction of the documents with a vector.
    target_count: int | None = Field(default=None, ge=0)
    target_fraction: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Documents to select as a fraction of those reaching the stage (set this or `target_count`).",
    )
    # Inside a leaf cluster: a seeded random choice (Vo et al.) or the documents closest to the centroid.
    within_cluster: Literal["random", "closest"] = "random"
    sample_size: int = Field(default=50_000, ge=2, description="Documents sampled to fit the k-means centroids.")
    iterations: int = Field(default=25, ge=1, description="k-means iterations.")

    @model_validator(mode="after")
    def _one_target(self) -> ClusterBalanceParams:
        if (self.target_count is None) == (self.target_fraction is None):
            raise ValueError("set exactly one of target_count and target_fraction")
        if any(k < 1 for k in self.levels):
            raise ValueError(f"levels {self.levels}: every level needs at least one cluster")
        return self


@register
class ClusterBalance(GlobalStage):
    """Balanced sampling over hierarchical k-means clusters of the embeddings, to a target size."""

    id = "cluster_balance"
    Params = ClusterBalanceParams
    params: ClusterBalanceParams

    def signal_fields(self) -> list[StructField]:
        return [
            StructField("cluster", IntegerType()),
            StructField("top_cluster", IntegerType()),
            StructField("cluster_quota", LongType()),
        ]

    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        report = StageReport()
        p = self.params
        data = embeddings(df, p.vector_column, self.id, ctx.scratch_space)
        target = p.target_count if p.target_count is not None else round(p.target_fraction * data.count)
        report.metrics.update(docs_with_vector=data.count, target=min(target, data.count))
        if data.count == 0:
            decisions = ctx.spark.createDataFrame(
                [], "doc_id string, _leaf int, _top int, _quota long, _picked boolean"
            )
            return self._attach(df, decisions), report
        leaves, parents = fit_tree(data, p.levels, p.sample_size, ctx.seed, p.iterations)
        assigned = assign_clusters(data, leaves, ctx.scratch_space, "assigned")
        sizes = np.zeros(len(leaves), dtype=np.int64)
        for row in assigned.groupBy(CLUSTER).count().collect():
            sizes[row[CLUSTER]] = row["count"]
        quotas = tree_quotas(sizes, parents, target)
        top = np.arange(len(leaves))
        for parent in parents:
            top = parent[top]
        order = OrderKey("_order")
        within = uniform(ctx.seed, F.col(DOC_ID)) if p.within_cluster == "random" else -F.col(SIMILARITY)
        ranked = running_totals(
            assigned.select(
                DOC_ID,
                F.col(CLUSTER).cast("string").alias(GROUP),
                F.lit(1).cast("long").alias(VALUE),
                within.alias("_order"),
            ),
            [order],
            ctx.scratch_space,
            "ranked",
        )
        leaf_table = ctx.spark.createDataFrame(
            [(i, int(top[i]), int(quotas[i])) for i in range(len(leaves))], "_leaf int, _top int, _quota long"
        )
        decisions = ranked.select(DOC_ID, F.col(GROUP).cast("int").alias("_leaf"), RUNNING).join(
            F.broadcast(leaf_table), on="_leaf"
        )
        decisions = ctx.materialize(
            decisions.select(DOC_ID, "_leaf", "_top", "_quota", (F.col(RUNNING) <= F.col("_quota")).alias("_picked")),
            "decisions",
        )
        report.metrics.update(
            leaf_clusters=len(leaves),
            top_clusters=int(top.max()) + 1,
            selected=decisions.where("_picked").count(),
            largest_leaf=int(sizes.max()),
            smallest_leaf=int(sizes.min()),
        )
        report.details["leaf_sizes"] = sizes.tolist()
        report.details["leaf_quotas"] = quotas.tolist()
        return self._attach(df, decisions), report

    def _attach(self, df: DataFrame, decisions: DataFrame) -> DataFrame:
        has_vector = F.col("_leaf").isNotNull()
        return attach(
            df,
            decisions,
            self.id,
            keep=F.coalesce(F.col("_picked"), F.lit(False)),
            reason=F.when(has_vector, F.lit(NOT_SAMPLED)).otherwise(F.lit(NO_EMBEDDING)),
            signals=[
                F.col("_leaf").alias("cluster"),
                F.col("_top").alias("top_cluster"),
                F.col("_quota").alias("cluster_quota"),
            ],
        )
