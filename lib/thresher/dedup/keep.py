"""Which document of a cluster of duplicates is kept: the keep policy, shared by every dedup stage.

Policies: `smallest_doc_id` (default), `longest_text`, `max_column` (the largest value of a numeric column
or struct field, e.g. `quality.score`; documents where it is null come last). Every tie is broken by the
smallest doc_id, so the kept document never depends on partitioning or task order.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DoubleType, NumericType, StructField, StructType

from thresher.core.params import StageParams
from thresher.errors import ConfigError
from thresher.schema import DOC_ID, TEXT

KeepPolicy = Literal["smallest_doc_id", "longest_text", "max_column"]
# The order within a cluster: documents missing the policy's value last, then the smallest rank.
RANK_TYPE = StructType([StructField("missing", BooleanType(), True), StructField("rank", DoubleType(), True)])


class KeepParams(StageParams):
    """Parameters of the keep policy (a base of the dedup stages' parameters)."""

    keep: KeepPolicy = Field(
        default="smallest_doc_id",
        description="Which document of a duplicate group is kept: the smallest doc_id, the longest text, or the "
        "largest value of `keep_column` (ties by doc_id).",
    )
    # Dotted path of the column maximised by `keep: max_column` (a top-level column or a stage's field).
    keep_column: str | None = None

    @model_validator(mode="after")
    def _column_matches_policy(self) -> KeepParams:
        if self.keep == "max_column" and not self.keep_column:
            raise ValueError("keep: max_column needs keep_column (e.g. quality.score)")
        if self.keep != "max_column" and self.keep_column:
            raise ValueError(f"keep_column is only used with keep: max_column, not keep: {self.keep}")
        return self


def keep_rank(df: DataFrame, params: KeepParams, stage_id: str) -> Column:
    """A struct column ordering the documents of a cluster: the smallest (rank, doc_id) is kept."""
    if params.keep == "smallest_doc_id":
        missing, rank = F.lit(False), F.lit(0.0)
    elif params.keep == "longest_text":
        missing, rank = F.lit(False), -F.length(F.col(TEXT)).cast("double")
    else:
        value = _numeric_column(df, str(params.keep_column), stage_id)
        missing, rank = value.isNull(), -value
    return F.struct(missing.alias("missing"), rank.alias("rank"))


def kept_member(rank: Column, doc_id: Column | None = None) -> Column:
    """Aggregate: the doc_id with the smallest (rank, doc_id) in a group."""
    doc_id = F.col(DOC_ID) if doc_id is None else doc_id
    return F.min(F.struct(rank.alias("rank"), doc_id.alias("doc_id"))).getField("doc_id")


def _numeric_column(df: DataFrame, path: str, stage_id: str) -> Column:
    parts = path.split(".")
    schema: StructType = df.schema
    for depth, part in enumerate(parts):
        names = schema.fieldNames()
        if part not in names:
            where = ".".join(parts[:depth]) or "the documents"
            raise ConfigError(
                f"stages.{stage_id}.keep_column: {path!r} not found: {where} has {', '.join(names) or 'no fields'}"
            )
        kind = schema[part].dataType
        if depth < len(parts) - 1:
            if not isinstance(kind, StructType):
                raise ConfigError(f"stages.{stage_id}.keep_column: {'.'.join(parts[: depth + 1])} is not a struct")
            schema = kind
    if not isinstance(kind, NumericType | BooleanType):
        raise ConfigError(f"stages.{stage_id}.keep_column: {path!r} is {kind.simpleString()}, not a number")
    column = F.col(parts[0])
    for part in parts[1:]:
        column = column.getField(part)
    return column.cast("double")
