"""Dedup by an exact key computed per document (text hash, normalized URL): the shared body of
`exact_dedup` and `url_dedup`."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from thresher.core.records import StageReport
from thresher.core.scratch import Scratch
from thresher.dedup.batches import CLUSTER, RANK, TextHashBatches, UrlKeyBatches
from thresher.dedup.clusters import CLUSTER_FIELDS, attach, cluster_summary, decide
from thresher.dedup.index import BUCKETS, EARLIER_RUN, KEY, SKETCH, IndexUse, decide_keys_with_index, index_metrics
from thresher.dedup.keep import RANK_TYPE, KeepParams, keep_rank
from thresher.schema import DECISION_FIELDS, DOC_ID, KEEP


def dedup_by_key(
    df: DataFrame,
    scratch: Scratch,
    stage_id: str,
    params: KeepParams,
    keys: TextHashBatches | UrlKeyBatches,
    input_column: str,
    reason: str,
    signal: str,
    index: IndexUse | None = None,
) -> tuple[DataFrame, StageReport]:
    """Documents with the same non-null key form a cluster; one is kept by the keep policy. With an `index`,
    a document with the key of an earlier run's document is a duplicate of it (see thresher.dedup.index)."""
    schema = StructType(
        [
            StructField(DOC_ID, StringType(), False),
            StructField(RANK, RANK_TYPE, True),
            StructField(CLUSTER, StringType(), True),
        ]
    )
    keyed = df.select(DOC_ID, input_column, keep_rank(df, params, stage_id).alias(RANK)).mapInArrow(keys, schema)
    keyed = scratch.materialize(keyed, "keys")
    members = keyed.withColumn(signal, F.col(CLUSTER))
    if index is None:
        decisions = scratch.materialize(decide(members, reason, [signal]), "decisions")
        metrics, details = cluster_summary(decisions)
    else:
        decisions = scratch.materialize(
            decide_keys_with_index(members, index.entries(), reason, [signal]), "decisions"
        )
        metrics, details = cluster_summary(decisions, *index_metrics())
        new_kept = decisions.where(F.col(KEEP) & F.col(EARLIER_RUN).isNull() & F.col(signal).isNotNull())
        index.stage_kept(
            new_kept.select(
                DOC_ID,
                F.col(signal).alias(KEY),
                F.lit(None).cast("array<bigint>").alias(BUCKETS),
                F.lit(None).cast("array<bigint>").alias(SKETCH),
            )
        )
    fields = [f.name for f in (*DECISION_FIELDS, *CLUSTER_FIELDS)] + [signal] + ([EARLIER_RUN] if index else [])
    return attach(df, decisions, stage_id, fields), StageReport(metrics, details)
