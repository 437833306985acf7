"""`budget`: keep the best documents up to a word, token (`run.tokenizer`) or document budget, with mixture weights.

Documents are ranked by a score (a weighted sum of score columns, e.g. `quality_fasttext.score`; higher is
better; documents with a null score rank last; ties by doc_id). With `mixture_by` (a column such as `source`
or `language.lang`) the budget is split across its values by `mixture` weights (values not listed get
`other_weight`; without `mixture` every value weighs the same); a group with fewer words than its share gives
the rest to the other groups in proportion to their weights. Each group keeps its best documents while their
running total stays within its share.

With `repeat_by` (a column of copies per document, e.g. `rehydrate.repeat`: FineWeb-2's rehydration) a document
counts as its size times its copies, capped at `max_repeat` (epochs); the copies are in `budget.repeat`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, NumericType, StringType, StructField

from thresher.core.words import words_column
from thresher.errors import ThresherError
from thresher.schema import DOC_ID, TEXT
from thresher.select.columns import require_column
from thresher.select.quotas import water_fill
from thresher.select.ranking import GROUP, RUNNING, VALUE, OrderKey, running_totals
from thresher.select.result import attach
from thresher.stages.base import GlobalStage, StageContext, StageParams, StageReport
from thresher.stages.registry import register
from thresher.token_columns import token_count

OVER_BUDGET = "over_budget"
_MAX_GROUPS = 10_000
_NO_GROUP = "(none)"


class BudgetParams(StageParams):
    unit: Literal["words", "tokens", "docs"] = Field(
        default="words",
        description="What the budget counts: whitespace words, tokens of run.tokenizer, or documents.",
    )
    budget: int = Field(
        default=0,
        ge=0,
        description="Total words, tokens or documents to keep, split across the `mixture_by` groups by their weights.",
    )
    # Score column (dotted path) -> weight; the ranking score is the weighted sum. Empty: rank by doc_id only.
    scores: dict[str, float] = Field(default_factory=dict)
    # Column whose values share the budget (source, language.lang, ...); null values form the group "(none)".
    mixture_by: str | None = None
    # Value -> weight; empty: equal shares.
    mixture: dict[str, float] = Field(default_factory=dict)
    other_weight: float = Field(
        default=0.0,
        ge=0,
        description="Weight of a `mixture_by` value not listed in `mixture` (0: such documents are not selected).",
    )

    repeat_by: str | None = Field(
        default=None,
        description="Column holding each document's number of copies (e.g. rehydrate.repeat); the budget counts "
        "size x copies. Null: one copy each.",
    )
    max_repeat: int = Field(
        default=10, ge=1, description="Most copies (epochs) of one document counted from `repeat_by`."
    )

    @model_validator(mode="after")
    def _consistent(self) -> BudgetParams:
        if self.budget <= 0:
            raise ValueError("budget: required, a positive number of words, tokens or documents")
        if self.mixture and not self.mixture_by:
            raise ValueError("mixture weights need mixture_by (the column whose values they weight)")
        if any(w < 0 for w in self.mixture.values()):
            raise ValueError("mixture weights must be non-negative")
        return self


@register
class Budget(GlobalStage):
    """Keep the highest-scoring documents up to a word or document budget, per mixture group."""

    id = "budget"
    Params = BudgetParams
    params: BudgetParams

    def signal_fields(self) -> list[StructField]:
        return [
            StructField("score", DoubleType()),
            StructField("group", StringType()),
            StructField("size", LongType()),
            StructField("running", LongType()),
            StructField("quota", LongType()),
            StructField("repeat", LongType()),
        ]

    def needs_tokenizer(self) -> bool:
        return self.params.unit == "tokens"

    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        report = StageReport()
        p = self.params
        self._check_columns(df)
        size = self._size(ctx) * self._repeat()
        frame = df.select(
            DOC_ID,
            self._group().alias(GROUP),
            size.alias(VALUE),
            self._score().alias("_score"),
            self._repeat().alias("_repeat"),
        )
        totals = frame.groupBy(GROUP).agg(F.sum(VALUE).alias("total"), F.count(F.lit(1)).alias("docs"))
        groups = sorted(totals.limit(_MAX_GROUPS + 1).collect(), key=lambda r: r[GROUP])
        if len(groups) > _MAX_GROUPS:
            raise ThresherError(f"stage {self.id}: mixture_by {p.mixture_by!r} has more than {_MAX_GROUPS} values")
        names = [r[GROUP] for r in groups]
        unknown = sorted(set(p.mixture) - set(names))
        if unknown:
            # A weight for a value that does not occur would silently give its share to the others.
            raise ThresherError(
                f"stages.{self.id}.mixture: {', '.join(map(repr, unknown))} match no value of {p.mixture_by}; "
                f"its values are: {', '.join(map(repr, names[:50]))}{' ...' if len(names) > 50 else ''}"
            )
        capacity = np.array([r["total"] for r in groups], dtype=np.float64)
        weights = np.array([self._weight(name) for name in names], dtype=np.float64)
        quotas = water_fill(capacity, weights, p.budget, integer=True) if names else np.zeros(0, dtype=np.int64)
        ranked = running_totals(frame, [OrderKey("_score", descending=True)], ctx.scratch_space, "ranked")
        quota_table = ctx.spark.createDataFrame(
            [(n, int(q)) for n, q in zip(names, quotas, strict=True)], f"{GROUP} string, _quota long"
        )
        decisions = ctx.materialize(
            ranked.join(F.broadcast(quota_table), on=GROUP).join(frame.select(DOC_ID, "_score", "_repeat"), on=DOC_ID),
            "decisions",
        )
        picked = F.col(RUNNING) <= F.col("_quota")
        chosen = (
            decisions.where(picked)
            .agg(F.count(F.lit(1)).alias("docs"), F.sum(VALUE).alias("units"), F.sum("_repeat").alias("copies"))
            .first()
        )
        report.metrics.update(
            budget=p.budget,
            selected_docs=chosen["docs"],
            selected_units=chosen["units"] or 0,
            selected_copies=chosen["copies"] or 0,
            groups=len(names),
        )
        report.details["groups"] = {
            name: {"available": int(capacity[i]), "weight": float(weights[i]), "quota": int(quotas[i])}
            for i, name in enumerate(names)
        }
        return attach(
            df,
            decisions.select(DOC_ID, "_score", F.col(GROUP).alias("_grp"), VALUE, RUNNING, "_quota", "_repeat"),
            self.id,
            keep=F.col(RUNNING) <= F.col("_quota"),
            reason=F.lit(OVER_BUDGET),
            signals=[
                F.col("_score").alias("score"),
                F.col("_grp").alias("group"),
                F.col(VALUE).alias("size"),
                F.col(RUNNING).alias("running"),
                F.col("_quota").alias("quota"),
                F.col("_repeat").alias("repeat"),
            ],
        ), report

    def _size(self, ctx: StageContext) -> Column:
        if self.params.unit == "docs":
            return F.lit(1).cast("long")
        if self.params.unit == "words":
            return words_column(F.col(TEXT))
        if ctx.tokenizer is None:
            raise ThresherError(f"stage {self.id}: unit tokens needs run.tokenizer (a tokenizer file)")
        return token_count(F.col(TEXT), ctx.tokenizer)

    def _repeat(self) -> Column:
        """Copies of each document: its `repeat_by` value (null or below 1: one) capped at `max_repeat`."""
        p = self.params
        if not p.repeat_by:
            return F.lit(1).cast("long")
        copies = F.coalesce(F.col(p.repeat_by).cast("long"), F.lit(1))
        return F.least(F.greatest(copies, F.lit(1)), F.lit(p.max_repeat)).cast("long")

    def _weight(self, group: str) -> float:
        p = self.params
        if not p.mixture:
            return 1.0
        return p.mixture.get(group, p.other_weight)

    def _group(self) -> Column:
        if not self.params.mixture_by:
            return F.lit(_NO_GROUP)
        return F.coalesce(F.col(self.params.mixture_by).cast("string"), F.lit(_NO_GROUP))

    def _score(self) -> Column:
        if not self.params.scores:
            return F.lit(None).cast("double")
        terms = [F.col(path).cast("double") * F.lit(weight) for path, weight in self.params.scores.items()]
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total

    def _check_columns(self, df: DataFrame) -> None:
        if self.params.repeat_by:
            kind = require_column(df, self.params.repeat_by, self.id, "repeat_by")
            if not isinstance(kind, NumericType):
                raise ThresherError(f"stage {self.id}: repeat_by column {self.params.repeat_by!r} is not numeric")
        if self.params.mixture_by:
            require_column(df, self.params.mixture_by, self.id, "mixture_by")
        for path in self.params.scores:
            kind = require_column(df, path, self.id, "score")
            if not isinstance(kind, NumericType):
                raise ThresherError(f"stage {self.id}: score column {path!r} is {kind.simpleString()}, not numeric")
