"""Two runs side by side: their stats, and which documents changed outcome, joined by doc_id on the executors.

A document's outcome in a run is `kept`, `removed` by a stage for a reason (the first stage that flagged it, in
annotate mode) or `absent` (not among that run's documents: other input, or quarantined). Only the counts per
(outcome in A, outcome in B) and a few examples per moved group reach the driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from thresher.report.run_data import (
    EXAMPLES_PER_GROUP,
    Example,
    RunData,
    RunTables,
    first_per_group,
    load_run,
    snippet,
)
from thresher.schema import DOC_ID, KEEP, REASON, STAGE, TEXT
from thresher.spark import set_job_description

KEPT = "kept"
REMOVED = "removed"
ABSENT = "absent"


@dataclass(frozen=True)
class Outcome:
    kind: str  # KEPT, REMOVED or ABSENT
    stage: str | None = None
    reason: str | None = None

    def describe(self) -> str:
        return f"{self.stage}: {self.reason}" if self.kind == REMOVED else self.kind


@dataclass
class Movement:
    before: Outcome
    after: Outcome
    count: int
    examples: list[Example] = field(default_factory=list)

    @property
    def moved(self) -> bool:
        return self.before != self.after


@dataclass
class Comparison:
    a: RunData
    b: RunData
    # Every (outcome in A, outcome in B) pair with its document count, largest first.
    movements: list[Movement]

    def moved(self) -> list[Movement]:
        return [m for m in self.movements if m.moved]


def compare_runs(
    spark: SparkSession, root_a: str, root_b: str, examples_per_group: int = EXAMPLES_PER_GROUP
) -> Comparison:
    tables_a, tables_b = RunTables(spark, root_a), RunTables(spark, root_b)
    a, b = load_run(spark, root_a, examples_per_group=0), load_run(spark, root_b, examples_per_group=0)
    set_job_description(spark, f"thresher compare {a.run_id} {b.run_id}")
    outcomes_a = _outcomes(tables_a, a)
    outcomes_b = _outcomes(tables_b, b)
    if outcomes_a is None or outcomes_b is None:
        return Comparison(a, b, [])
    joined = _side(outcomes_a, "a").join(_side(outcomes_b, "b"), DOC_ID, "full_outer")
    joined = joined.select(
        DOC_ID,
        *_outcome_columns("a"),
        *_outcome_columns("b"),
        F.coalesce(F.col("snippet_b"), F.col("snippet_a")).alias("snippet"),
        F.coalesce(F.col("chars_b"), F.col("chars_a")).alias("chars"),
    )
    keys = ["kind_a", "stage_a", "reason_a", "kind_b", "stage_b", "reason_b"]
    movements = {_key(row): Movement(*_key(row), int(row["count"])) for row in joined.groupBy(*keys).count().collect()}
    same = (
        (F.col("kind_a") == F.col("kind_b"))
        & F.col("stage_a").eqNullSafe(F.col("stage_b"))
        & F.col("reason_a").eqNullSafe(F.col("reason_b"))
    )
    if examples_per_group:
        order = [F.xxhash64(DOC_ID), F.col(DOC_ID)]
        for row in first_per_group(joined.where(~same), keys, order, examples_per_group):
            movements[_key(row)].examples.append(Example(row[DOC_ID], row["snippet"], row["chars"]))
    ordered = sorted(movements.values(), key=lambda m: (-m.count, m.before.describe(), m.after.describe()))
    return Comparison(a, b, ordered)


def _outcomes(tables: RunTables, run: RunData) -> DataFrame | None:
    """(doc_id, stage, reason, text) per document of a run; stage and reason are null for kept documents."""
    kept = tables.table("kept")
    if kept is None:
        return None
    if run.mode == "filter":
        excluded = tables.table("excluded")
        nothing = F.lit(None).cast("string")
        passed = kept.select(DOC_ID, nothing.alias(STAGE), nothing.alias(REASON), TEXT)
        return passed if excluded is None else passed.unionByName(excluded.select(DOC_ID, STAGE, REASON, TEXT))
    stages = [s for s in run.stage_ids if s in kept.columns]
    flagged = [(s, F.col(s).getField(KEEP) == F.lit(False)) for s in stages]
    nothing = F.lit(None).cast("string")
    first_stage = F.coalesce(*[F.when(f, F.lit(s)) for s, f in flagged], nothing)
    first_reason = F.coalesce(*[F.when(f, F.col(s).getField(REASON)) for s, f in flagged], nothing)
    return kept.select(DOC_ID, first_stage.alias(STAGE), first_reason.alias(REASON), TEXT)


def _side(outcomes: DataFrame, side: str) -> DataFrame:
    return outcomes.select(
        DOC_ID,
        F.lit(True).alias(f"present_{side}"),
        F.col(STAGE).alias(f"stage_{side}"),
        F.coalesce(F.col(REASON), F.when(F.col(STAGE).isNotNull(), F.lit("unspecified"))).alias(f"reason_{side}"),
        snippet(F.col(TEXT)).alias(f"snippet_{side}"),
        F.length(TEXT).alias(f"chars_{side}"),
    )


def _outcome_columns(side: str) -> list[Column]:
    present, stage = F.col(f"present_{side}"), F.col(f"stage_{side}")
    kind = F.when(present.isNull(), F.lit(ABSENT)).when(stage.isNull(), F.lit(KEPT)).otherwise(F.lit(REMOVED))
    return [kind.alias(f"kind_{side}"), stage.alias(f"stage_{side}"), F.col(f"reason_{side}")]


def _key(row) -> tuple[Outcome, Outcome]:
    return (
        Outcome(row["kind_a"], row["stage_a"], row["reason_a"]),
        Outcome(row["kind_b"], row["stage_b"], row["reason_b"]),
    )
