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
from thresher.dedup.keep import RANK_TYPE, KeepParams, keep_rank
from thresher.schema import DECISION_FIELDS, DOC_ID


def dedup_by_key(
    df: DataFrame,
    scratch: Scratch,
    stage_id: str,
    params: KeepParams,
    keys: TextHashBatches | UrlKeyBatches,
    input_column: str,
    reason: str,
    signal: str,
) -> tuple[DataFrame, StageReport]:
    """Documents with the same non-null key form a cluster; one is kept by the keep policy."""
    schema = StructType(
        [
            StructField(DOC_ID, StringType(), False),
            StructField(RANK, RANK_TYPE, True),
            StructField(CLUSTER, StringType(), True),
        ]
    )
    keyed = df.select(DOC_ID, input_column, keep_rank(df, params, stage_id).alias(RANK)).mapInArrow(keys, schema)
    keyed = scratch.materialize(keyed, "keys")
    decisions = scratch.materialize(decide(keyed.withColumn(signal, F.col(CLUSTER)), reason, [signal]), "decisions")
    metrics, details = cluster_summary(decisions)
    fields = [f.name for f in (*DECISION_FIELDS, *CLUSTER_FIELDS)] + [signal]
    return attach(df, decisions, stage_id, fields), StageReport(metrics, details)
