"""Per-stage statistics, computed from a segment's committed checkpoint.

A checkpoint holds every row that entered its segment with each stage's struct (null where a stage never saw
the row), so the numbers here are exact counts of committed data. They also drive the conservation check:
for every stage, docs_in == docs_out + docs_excluded, and docs_in equals what the previous stage passed on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ByteType, DoubleType, FloatType, IntegerType, LongType, ShortType

from thresher.errors import InvariantError
from thresher.io.ingest import QUARANTINE
from thresher.plan import Segment
from thresher.schema import TEXT
from thresher.stages.base import GlobalStage, Mode

QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
_NUMERIC = (ByteType, ShortType, IntegerType, LongType, FloatType, DoubleType)


def words_column(text: Column) -> Column:
    """Whitespace-separated tokens of `text`, as `thresher.stages.fused.count_words` counts them."""
    stripped = F.regexp_replace(text, r"(?U)^\s+|\s+$", "")
    return F.when(stripped == "", F.lit(0)).otherwise(F.size(F.split(stripped, r"(?U)\s+"))).cast("long")


@dataclass
class StageTiming:
    started_at: datetime
    finished_at: datetime
    wall_seconds: float
    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def ingest_stats(checkpoint: DataFrame, run_id: str, mode: Mode, timing: StageTiming) -> dict[str, Any]:
    is_doc = F.col(QUARANTINE).isNull()
    text = F.col(TEXT)
    row = checkpoint.agg(
        F.count(F.lit(1)).alias("records"),
        F.count(F.when(is_doc, 1)).alias("docs"),
        F.coalesce(F.sum(F.when(is_doc, F.length(text))), F.lit(0)).alias("chars"),
        F.coalesce(F.sum(F.when(is_doc, words_column(text))), F.lit(0)).alias("words"),
    ).first()
    reasons = {
        r["reason"]: int(r["count"])
        for r in checkpoint.where(~is_doc).groupBy(F.col("quarantine.reason").alias("reason")).count().collect()
    }
    quarantined = int(row["records"]) - int(row["docs"])
    return _row(
        run_id,
        0,
        "ingest",
        "00_ingest",
        mode,
        timing,
        docs_in=int(row["records"]),
        docs_out=int(row["docs"]),
        docs_excluded=quarantined,
        docs_flagged=quarantined,
        chars_in=int(row["chars"]),
        chars_out=int(row["chars"]),
        words_in=int(row["words"]),
        words_out=int(row["words"]),
        reason_counts=reasons,
        signals={},
    )


def segment_stats(
    checkpoint: DataFrame,
    segment: Segment,
    first_stage_index: int,
    run_id: str,
    mode: Mode,
    expected_in: int,
    timings: dict[str, StageTiming],
) -> list[dict[str, Any]]:
    """One stats row per stage of `segment`; raises InvariantError when documents were lost or invented."""
    stages = segment.stages
    measures = _length_measures(segment)
    aggregates: list[Column] = [F.count(F.lit(1)).alias("total")]
    for stage, (chars_in, chars_out, words_in, words_out) in zip(stages, measures, strict=True):
        result = F.col(stage.id)
        reached = result.isNotNull()
        kept = result.getField("keep") == F.lit(True)
        passed = kept if mode == "filter" else reached
        aggregates += [
            F.count(F.when(reached, 1)).alias(f"{stage.id}__in"),
            F.count(F.when(kept, 1)).alias(f"{stage.id}__kept"),
            F.count(F.when(reached & result.getField("keep").isNull(), 1)).alias(f"{stage.id}__undecided"),
            F.coalesce(F.sum(F.when(reached, chars_in)), F.lit(0)).alias(f"{stage.id}__chars_in"),
            F.coalesce(F.sum(F.when(passed, chars_out)), F.lit(0)).alias(f"{stage.id}__chars_out"),
            F.coalesce(F.sum(F.when(reached, words_in)), F.lit(0)).alias(f"{stage.id}__words_in"),
            F.coalesce(F.sum(F.when(passed, words_out)), F.lit(0)).alias(f"{stage.id}__words_out"),
        ]
    counts = checkpoint.agg(*aggregates).first().asDict()
    total = int(counts["total"])
    if total != expected_in:
        raise InvariantError(
            f"segment {segment.name}: {expected_in} documents went in but its checkpoint holds {total}"
        )
    if any(isinstance(s, GlobalStage) for s in stages):
        distinct = checkpoint.select("doc_id").distinct().count()
        if distinct != total:
            raise InvariantError(f"segment {segment.name}: {total - distinct} duplicated doc_id rows in its output")
    reasons = _reason_counts(checkpoint, segment)
    signals = _signal_summaries(checkpoint, segment)
    rows = []
    docs_in = expected_in
    for offset, stage in enumerate(stages):
        reached = int(counts[f"{stage.id}__in"])
        kept = int(counts[f"{stage.id}__kept"])
        undecided = int(counts[f"{stage.id}__undecided"])
        if reached != docs_in:
            raise InvariantError(
                f"stage {stage.id}: {docs_in} documents were passed to it but it decided on {reached}"
            )
        if undecided:
            raise InvariantError(f"stage {stage.id}: {undecided} documents have no keep/drop decision")
        flagged = reached - kept
        excluded = flagged if mode == "filter" else 0
        docs_out = reached - excluded
        if docs_out + excluded != reached:
            raise InvariantError(f"stage {stage.id}: docs_in {reached} != docs_out {docs_out} + excluded {excluded}")
        timing = timings[stage.id]
        rows.append(
            _row(
                run_id,
                first_stage_index + offset,
                stage.id,
                segment.name,
                mode,
                timing,
                docs_in=reached,
                docs_out=docs_out,
                docs_excluded=excluded,
                docs_flagged=flagged,
                chars_in=int(counts[f"{stage.id}__chars_in"]),
                chars_out=int(counts[f"{stage.id}__chars_out"]),
                words_in=int(counts[f"{stage.id}__words_in"]),
                words_out=int(counts[f"{stage.id}__words_out"]),
                reason_counts=reasons.get(stage.id, {}),
                signals=signals.get(stage.id, {}),
            )
        )
        docs_in = docs_out
    return rows


def _length_measures(segment: Segment) -> list[tuple[Column, Column, Column, Column]]:
    """Per stage: characters and words of the text entering it and leaving it.

    Only the segment's final text is stored. The text entering stage k is the `*_before` of the first
    text-rewriting stage at or after k that the row reached (rewrites in between would have recorded it),
    else the stored text, which no later stage changed.
    """
    text = F.col(TEXT)
    final_chars, final_words = F.length(text).cast("long"), words_column(text)
    measures = []
    stages = segment.stages
    for k, stage in enumerate(stages):
        rewriters = [s for s in stages[k:] if s.rewrites_text]
        chars_in = F.coalesce(*[F.col(f"{s.id}.chars_before") for s in rewriters], final_chars)
        words_in = F.coalesce(*[F.col(f"{s.id}.words_before") for s in rewriters], final_words)
        if stage.rewrites_text:
            chars_out, words_out = F.col(f"{stage.id}.chars_after"), F.col(f"{stage.id}.words_after")
        else:
            chars_out, words_out = chars_in, words_in
        measures.append((chars_in, chars_out, words_in, words_out))
    return measures


def _reason_counts(checkpoint: DataFrame, segment: Segment) -> dict[str, dict[str, int]]:
    entries = F.array(
        *[
            F.struct(
                F.lit(s.id).alias("stage"),
                F.col(s.id).getField("keep").alias("keep"),
                F.col(s.id).getField("reason").alias("reason"),
            )
            for s in segment.stages
        ]
    )
    rows = (
        checkpoint.select(F.explode(entries).alias("e"))
        .where(F.col("e.keep") == F.lit(False))
        .groupBy("e.stage", F.coalesce(F.col("e.reason"), F.lit("unspecified")).alias("reason"))
        .count()
        .collect()
    )
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        out.setdefault(row["stage"], {})[row["reason"]] = int(row["count"])
    return out


def numeric_signals(segment: Segment) -> list[tuple[str, str]]:
    """(stage id, field) of every numeric signal the segment's stages write."""
    out = []
    for stage in segment.stages:
        for f in stage.result_type().fields:
            if isinstance(f.dataType, _NUMERIC):
                out.append((stage.id, f.name))
    return out


def _signal_summaries(checkpoint: DataFrame, segment: Segment) -> dict[str, dict[str, Any]]:
    signals = numeric_signals(segment)
    if not signals:
        return {}
    aggregates = []
    for i, (stage_id, name) in enumerate(signals):
        value = F.col(stage_id).getField(name).cast("double")
        aggregates += [
            F.percentile_approx(value, list(QUANTILES), 10_000).alias(f"q{i}"),
            F.avg(value).alias(f"m{i}"),
            F.count(value).alias(f"n{i}"),
        ]
    row = checkpoint.agg(*aggregates).first()
    out: dict[str, dict[str, Any]] = {}
    for i, (stage_id, name) in enumerate(signals):
        quantiles = row[f"q{i}"]
        out.setdefault(stage_id, {})[name] = {
            "count": int(row[f"n{i}"]),
            "mean": row[f"m{i}"],
            "quantiles": dict(zip((str(q) for q in QUANTILES), quantiles, strict=True)) if quantiles else {},
        }
    return out


def _row(
    run_id: str,
    index: int,
    stage: str,
    segment: str,
    mode: Mode,
    timing: StageTiming,
    *,
    docs_in: int,
    docs_out: int,
    docs_excluded: int,
    docs_flagged: int,
    chars_in: int,
    chars_out: int,
    words_in: int,
    words_out: int,
    reason_counts: dict[str, int],
    signals: dict[str, Any],
) -> dict[str, Any]:
    wall = max(timing.wall_seconds, 1e-9)
    return {
        "run_id": run_id,
        "stage_index": index,
        "stage": stage,
        "segment": segment,
        "mode": mode,
        "docs_in": docs_in,
        "docs_out": docs_out,
        "docs_excluded": docs_excluded,
        "docs_flagged": docs_flagged,
        "chars_in": chars_in,
        "chars_out": chars_out,
        "words_in": words_in,
        "words_out": words_out,
        "reason_counts": reason_counts,
        "signals": json.dumps({"signals": signals, "details": timing.details}, default=float),
        "metrics": {k: float(v) for k, v in timing.metrics.items()},
        "wall_seconds": timing.wall_seconds,
        "docs_per_second": docs_in / wall,
        "started_at": timing.started_at,
        "finished_at": timing.finished_at,
    }
