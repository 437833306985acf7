"""Running totals in a global order, per group, without moving a group into one partition.

Selections take "the first N documents (or words) of each group in score order". A Spark window ordered
over a whole group would pull the group into one task; instead the rows are range-partitioned by
(group, order..., doc_id) and sorted within partitions, each partition computes its own running sums, and
each (partition, group) gets the sum of the partitions before it as an offset (one small row per partition
and group is collected). The order is total (doc_id breaks ties), so the result does not depend on how the
data was partitioned.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark import TaskContext
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from thresher.core.scratch import Scratch
from thresher.schema import DOC_ID

GROUP = "_group"
VALUE = "_value"
RUNNING = "_running"
_PART = "_part"


@dataclass(frozen=True)
class OrderKey:
    column: str
    descending: bool = False


def running_totals(
    frame: DataFrame, order: Sequence[OrderKey], scratch: Scratch, name: str, partitions: int | None = None
) -> DataFrame:
    """`frame` has `doc_id`, `_group` (string, non-null), `_value` (long, >= 0) and the `order` columns.

    Returns (doc_id, _group, _value, _running) where `_running` is the sum of `_value` over the rows of the
    same group up to and including this one in (order..., doc_id) order; materialized in scratch.
    """
    sort = [F.col(GROUP).asc()]
    for key in order:
        column = F.col(key.column)
        sort.append(column.desc_nulls_last() if key.descending else column.asc_nulls_last())
    sort.append(F.col(DOC_ID).asc())
    partitions = partitions or max(1, int(scratch.spark.conf.get("spark.sql.shuffle.partitions", "8")))
    ranged = (
        frame.select(DOC_ID, GROUP, VALUE, *(k.column for k in order))
        .repartitionByRange(partitions, *sort)
        .sortWithinPartitions(*sort)
        .select(DOC_ID, GROUP, VALUE)
    )
    schema = StructType(
        [
            StructField(DOC_ID, StringType()),
            StructField(GROUP, StringType()),
            StructField(VALUE, LongType()),
            StructField(_PART, LongType()),
            StructField(RUNNING, LongType()),
        ]
    )
    local = scratch.materialize(ranged.mapInArrow(_partition_running_sums, schema), f"{name}_local")
    totals = local.groupBy(_PART, GROUP).agg(F.sum(VALUE).alias("_total")).collect()
    offsets: dict[str, int] = {}
    rows = []
    for row in sorted(totals, key=lambda r: (r[GROUP], r[_PART])):
        rows.append((row[_PART], row[GROUP], offsets.get(row[GROUP], 0)))
        offsets[row[GROUP]] = offsets.get(row[GROUP], 0) + int(row["_total"])
    offset_frame = scratch.spark.createDataFrame(rows, f"{_PART} long, {GROUP} string, _offset long")
    return local.join(F.broadcast(offset_frame), on=[_PART, GROUP]).select(
        DOC_ID, GROUP, VALUE, (F.col(RUNNING) + F.col("_offset")).alias(RUNNING)
    )


def _partition_running_sums(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Inclusive running sums per group within one sorted partition (groups are contiguous)."""
    part = TaskContext.get().partitionId()
    carry_group: str | None = None
    carry = 0
    for batch in batches:
        groups = batch.column(GROUP).to_numpy(zero_copy_only=False)
        values = pc.fill_null(batch.column(VALUE), 0).to_numpy().astype(np.int64)
        running = np.empty(len(values), dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]]) if len(groups) else np.empty(0, int)
        for i, start in enumerate(starts):
            stop = starts[i + 1] if i + 1 < len(starts) else len(values)
            base = carry if groups[start] == carry_group else 0
            running[start:stop] = base + np.cumsum(values[start:stop])
            carry_group, carry = groups[start], int(running[stop - 1])
        yield pa.RecordBatch.from_arrays(
            [
                batch.column(DOC_ID),
                batch.column(GROUP),
                batch.column(VALUE),
                pa.array(np.full(len(values), part, dtype=np.int64)),
                pa.array(running),
            ],
            names=[DOC_ID, GROUP, VALUE, _PART, RUNNING],
        )
