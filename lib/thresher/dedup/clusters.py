"""From cluster memberships to per-document decisions, and from decisions to the stage's struct column.

Shared by every dedup stage: a cluster is a group of documents judged duplicates of each other (same text
hash, same URL, same MinHash component); one member is kept by the keep policy, the others point to it.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField

from thresher.dedup.columns import CLUSTER, RANK
from thresher.dedup.keep import kept_member
from thresher.schema import DOC_ID, KEEP, REASON

DUPLICATE_OF = "duplicate_of"
CLUSTER_ID = "cluster_id"
CLUSTER_SIZE = "cluster_size"
# Histogram classes 2, 3-4, ..., up to 2**40 documents per cluster.
_SIZE_CLASSES = 40

# Fields every dedup stage's struct carries after keep and reason.
CLUSTER_FIELDS = [
    # doc_id of the kept member of the cluster; null for kept documents.
    StructField(DUPLICATE_OF, StringType(), True),
    # smallest doc_id of the cluster (the document's own id when it has no duplicate).
    StructField(CLUSTER_ID, StringType(), True),
    StructField(CLUSTER_SIZE, LongType(), True),
]


def decide(members: DataFrame, reason: str, signals: list[str] | None = None) -> DataFrame:
    """One decision per row of `members` (doc_id, cluster, rank, *signals).

    A null `cluster` means the document has no duplicate. Returns doc_id, keep, reason, duplicate_of,
    cluster_id, cluster_size and the signal columns.
    """
    signals = signals or []
    clustered = members.where(F.col(CLUSTER).isNotNull())
    groups = clustered.groupBy(CLUSTER).agg(
        kept_member(F.col(RANK)).alias("kept"),
        F.min(DOC_ID).alias(CLUSTER_ID),
        F.count(F.lit(1)).alias(CLUSTER_SIZE),
    )
    joined = clustered.join(groups, CLUSTER)
    keep = F.col(DOC_ID) == F.col("kept")
    decided = joined.select(
        DOC_ID,
        keep.alias(KEEP),
        F.when(~keep, F.lit(reason)).alias(REASON),
        F.when(~keep, F.col("kept")).alias(DUPLICATE_OF),
        F.col(CLUSTER_ID),
        F.col(CLUSTER_SIZE).cast("long").alias(CLUSTER_SIZE),
        *signals,
    )
    # Documents without a cluster skip the join: a corpus where most have none would otherwise send all of
    # them to the one partition of the null key.
    return decided.unionByName(kept_alone(members.where(F.col(CLUSTER).isNull()), signals))


def kept_alone(documents: DataFrame, columns: list[str]) -> DataFrame:
    """The decision of documents that are their own cluster: kept, cluster of size 1, with `columns` as they are."""
    return documents.select(
        DOC_ID,
        F.lit(True).alias(KEEP),
        F.lit(None).cast("string").alias(REASON),
        F.lit(None).cast("string").alias(DUPLICATE_OF),
        F.col(DOC_ID).alias(CLUSTER_ID),
        F.lit(1).cast("long").alias(CLUSTER_SIZE),
        *columns,
    )


def attach(df: DataFrame, decisions: DataFrame, stage_id: str, fields: list[str]) -> DataFrame:
    """`df` with the struct column `stage_id` made of `fields` of the decision with the same doc_id."""
    result = decisions.select(DOC_ID, F.struct(*[F.col(f) for f in fields]).alias(stage_id))
    columns = [c for c in df.columns if c != stage_id]
    return df.select(*columns).join(result, DOC_ID, "left").select(*columns, stage_id)


def cluster_summary(decisions: DataFrame, *extra: Column) -> tuple[dict[str, float], dict[str, Any]]:
    """Metrics (clusters, duplicates, largest cluster, and the `extra` aggregates, named by their aliases)
    and the histogram of cluster sizes, in one aggregation over `decisions`."""
    in_cluster = F.col(CLUSTER_SIZE) > 1
    size_class = F.ceil(F.log2(F.col(CLUSTER_SIZE)))
    row = decisions.agg(
        F.count(F.when(in_cluster & F.col(KEEP), 1)).alias("clusters"),
        F.count(F.when(~F.col(KEEP), 1)).alias("duplicates"),
        F.count(F.when(in_cluster, 1)).alias("docs_in_clusters"),
        F.coalesce(F.max(CLUSTER_SIZE), F.lit(0)).alias("largest_cluster"),
        *extra,
        *[
            F.count(F.when(in_cluster & F.col(KEEP) & (size_class == c), 1)).alias(f"class_{c}")
            for c in range(1, _SIZE_CLASSES + 1)
        ],
    ).first()
    values = row.asDict()
    histogram = {_size_label(c): int(values.pop(f"class_{c}")) for c in range(1, _SIZE_CLASSES + 1)}
    metrics = {k: float(v) for k, v in values.items()}
    return metrics, {"cluster_size_histogram": {k: v for k, v in histogram.items() if v}}


def _size_label(size_class: int) -> str:
    """Clusters of 2, 3-4, 5-8, ... documents."""
    high = 2**size_class
    low = 2 ** (size_class - 1) + 1
    return str(high) if low == high else f"{low}-{high}"
