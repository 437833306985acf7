"""Attach a selection stage's per-document decisions to the documents as the stage's struct column."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from thresher.schema import DOC_ID, KEEP, REASON


def attach(
    df: DataFrame, decisions: DataFrame, stage_id: str, keep: Column, reason: Column, signals: Sequence[Column]
) -> DataFrame:
    """`df` with the struct `stage_id` = (keep, reason, *signals), evaluated over `df` left-joined with
    `decisions` on doc_id (decision columns must not share names with document columns). Documents without a
    decision row see nulls in the decision columns."""
    base = df.drop(stage_id) if stage_id in df.columns else df
    joined = base.join(decisions, on=DOC_ID, how="left")
    struct = F.struct(keep.alias(KEEP), F.when(~keep, reason).alias(REASON), *signals)
    return joined.select(*base.columns, struct.alias(stage_id))
