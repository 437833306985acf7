"""`score_buckets`: several score columns combined with weights, cut into N buckets of equal token mass.

As Nemotron-CC does with its classifier ensemble (20 buckets): each document's combined score is the weighted
sum of its score columns; documents are ordered by it (ties by doc_id) and bucket b (1 = lowest scores, N =
highest) holds the documents whose middle falls in the b-th N-quantile of the cumulative weight, where a
document weighs its tokens (`run.tokenizer`), its whitespace words, or 1. A document without a score (a null
column) gets no bucket. With `group_by` (e.g. `language.lang`) each group is cut on its own.

The stage only annotates (it keeps every document): select with `keep_if` (`score_buckets.bucket >= 15`) or
rank with `budget` (`scores: {score_buckets.bucket: 1}`). The running totals are computed by range-partitioned
sorted passes (`thresher.select.ranking`): no document-scale data reaches the driver.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, NumericType, StringType, StructField

from thresher.core.words import words_column
from thresher.errors import ThresherError
from thresher.schema import DOC_ID, TEXT
from thresher.select.columns import require_column
from thresher.select.ranking import GROUP, RUNNING, VALUE, OrderKey, running_totals
from thresher.select.result import attach
from thresher.stages.base import GlobalStage, StageContext, StageParams, StageReport
from thresher.stages.registry import register
from thresher.token_columns import token_count

_NO_GROUP = "(all)"
_MAX_GROUPS = 10_000


class ScoreBucketsParams(StageParams):
    scores: dict[str, float] = Field(
        default_factory=dict, description="score column (dotted path) -> weight; the combined score is the sum"
    )
    buckets: int = Field(default=20, ge=2, le=1000, description="number of buckets (Nemotron-CC: 20)")
    weight: Literal["tokens", "words", "docs"] = Field(
        default="tokens", description="what a document weighs in the percentiles (tokens need run.tokenizer)"
    )
    group_by: str | None = Field(default=None, description="cut each value of this column on its own (optional)")

    @model_validator(mode="after")
    def _some_scores(self) -> ScoreBucketsParams:
        if not self.scores:
            raise ValueError("scores: required, a mapping of score column -> weight")
        return self


def combined_score(scores: dict[str, float]) -> Column:
    terms = [F.col(path).cast("double") * F.lit(float(weight)) for path, weight in scores.items()]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def bucket_of(running: Column, value: Column, total: Column, buckets: int) -> tuple[Column, Column]:
    """(bucket 1..N, percentile 0..1) of a document from its inclusive running weight: its middle decides."""
    middle = (running.cast("double") - value.cast("double") / F.lit(2.0)) / total.cast("double")
    percentile = F.when(total > 0, middle).otherwise(F.lit(0.5))
    bucket = F.least(F.floor(percentile * F.lit(buckets)).cast("int") + F.lit(1), F.lit(buckets))
    return bucket, percentile


@register
class ScoreBuckets(GlobalStage):
    """Combine score columns with weights and cut them into N token-weighted percentile buckets."""

    id = "score_buckets"
    Params = ScoreBucketsParams
    params: ScoreBucketsParams

    def signal_fields(self) -> list[StructField]:
        return [
            StructField("score", DoubleType()),
            StructField("bucket", IntegerType()),
            StructField("percentile", DoubleType()),
            StructField("group", StringType()),
        ]

    def needs_tokenizer(self) -> bool:
        return self.params.weight == "tokens"

    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        p = self.params
        self._check_columns(df)
        frame = df.select(
            DOC_ID,
            self._group().alias(GROUP),
            self._weight(ctx).alias(VALUE),
            combined_score(p.scores).alias("_score"),
        ).where(F.col("_score").isNotNull() & ~F.isnan("_score"))
        frame = ctx.materialize(frame, "scores")
        totals = frame.groupBy(GROUP).agg(F.sum(VALUE).alias("_total"))
        if totals.limit(_MAX_GROUPS + 1).count() > _MAX_GROUPS:
            raise ThresherError(f"stage {self.id}: group_by {p.group_by!r} has more than {_MAX_GROUPS} values")
        ranked = running_totals(frame, [OrderKey("_score")], ctx.scratch_space, "ranked")
        bucket, percentile = bucket_of(F.col(RUNNING), F.col(VALUE), F.col("_total"), p.buckets)
        decisions = ctx.materialize(
            ranked.join(F.broadcast(totals), on=GROUP)
            .join(frame.select(DOC_ID, "_score"), on=DOC_ID)
            .select(
                DOC_ID,
                "_score",
                F.col(GROUP).alias("_grp"),
                VALUE,
                bucket.alias("_bucket"),
                percentile.alias("_percentile"),
            ),
            "decisions",
        )
        report = self._record(decisions)
        frame = attach(
            df,
            decisions.select(DOC_ID, "_score", "_grp", "_bucket", "_percentile"),
            self.id,
            keep=F.lit(True),
            reason=F.lit(None).cast("string"),
            signals=[
                F.col("_score").alias("score"),
                F.col("_bucket").alias("bucket"),
                F.col("_percentile").alias("percentile"),
                F.col("_grp").alias("group"),
            ],
        )
        return frame, report

    def _record(self, decisions: DataFrame) -> StageReport:
        """Figures for stats and the report: one row per (group, bucket), never per document."""
        rows = (
            decisions.groupBy("_grp", "_bucket")
            .agg(
                F.count(F.lit(1)).alias("docs"),
                F.sum(VALUE).alias("weight"),
                F.min("_score").alias("min_score"),
                F.max("_score").alias("max_score"),
            )
            .collect()
        )
        unit = self.params.weight
        buckets: dict[str, dict[str, float]] = {}
        for row in sorted(rows, key=lambda r: (r["_grp"], r["_bucket"])):
            label = str(row["_bucket"]) if self.params.group_by is None else f"{row['_grp']} {row['_bucket']}"
            buckets[label] = {
                "docs": int(row["docs"]),
                unit: int(row["weight"] or 0),
                "min_score": float(row["min_score"]),
                "max_score": float(row["max_score"]),
            }
        scored = sum(int(r["docs"]) for r in rows)
        return StageReport({"buckets": float(self.params.buckets), "scored_docs": float(scored)}, {"buckets": buckets})

    def _weight(self, ctx: StageContext) -> Column:
        unit = self.params.weight
        if unit == "docs":
            return F.lit(1).cast("long")
        if unit == "words":
            return words_column(F.col(TEXT))
        if ctx.tokenizer is None:
            raise ThresherError(f"stage {self.id}: weight tokens needs run.tokenizer (a tokenizer file)")
        return token_count(F.col(TEXT), ctx.tokenizer)

    def _group(self) -> Column:
        if not self.params.group_by:
            return F.lit(_NO_GROUP)
        return F.coalesce(F.col(self.params.group_by).cast("string"), F.lit("(none)"))

    def _check_columns(self, df: DataFrame) -> None:
        if self.params.group_by:
            require_column(df, self.params.group_by, self.id, "group_by")
        for path in self.params.scores:
            kind = require_column(df, path, self.id, "score")
            if not isinstance(kind, NumericType):
                raise ThresherError(f"stage {self.id}: score column {path!r} is {kind.simpleString()}, not numeric")
