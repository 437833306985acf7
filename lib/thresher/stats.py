"""Per-stage statistics, computed from a segment's committed checkpoint (runs measure them while writing it:
thresher.stats_tap and thresher.stats_fused make the same rows from what the tasks report).

A checkpoint holds every row that entered its segment with each stage's struct (null where a stage never saw
the row), so the numbers here are exact counts of committed data. They also drive the conservation check:
for every stage, docs_in == docs_out + docs_excluded, and docs_in equals what the previous stage passed on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from pyspark.ml.feature import Bucketizer
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    ByteType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    ShortType,
    StringType,
)

from thresher.core.languages import LANGUAGE_FIELD, UNDETERMINED_LANGUAGE
from thresher.core.records import StageStats
from thresher.core.words import words_column
from thresher.errors import InvariantError
from thresher.io.ingest import QUARANTINE, SKIPPED
from thresher.plan import Segment
from thresher.schema import KEEP, REASON, REWRITE_FIELDS, REWRITTEN_TEXT, TEXT
from thresher.signal_bins import Bins, choose_bins
from thresher.stages.base import GlobalStage, Mode, Stage

QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
_INTEGRAL = (ByteType, ShortType, IntegerType, LongType)
_NUMERIC = (*_INTEGRAL, FloatType, DoubleType)
# Reason counted for a document a stage dropped without giving one.
UNSPECIFIED_REASON = "unspecified"
# Histogram key of NaN and infinite values.
NON_FINITE = "non_finite"
# Ingest metrics `skipped.<kind>`: input records that are not documents by design (see thresher.io.warc).
SKIPPED_METRIC = "skipped."


# Characters and words of a checkpoint's stored text, computed once per row for all the stages' sums.
_FINAL_CHARS = "_stats_final_chars"
_FINAL_WORDS = "_stats_final_words"
_FINAL_TOKENS = "_stats_final_tokens"


@dataclass
class StageTiming:
    """When a stage ran and what it reported; times are None when not known (never made up)."""

    started_at: datetime | None
    finished_at: datetime | None
    wall_seconds: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SegmentRun:
    """A segment as its stats rows describe it: where its stages stand in the run (`first_stage_index`), the
    documents that went in, the timings, and the stages of earlier segments (one of them may hold the
    documents' language)."""

    segment: Segment
    first_stage_index: int
    run_id: str
    mode: Mode
    expected_in: int
    timings: dict[str, StageTiming]
    earlier_stages: Sequence[Stage] = ()


def ingest_stats(
    checkpoint: DataFrame, run_id: str, mode: Mode, timing: StageTiming, tokenizer: str | None = None
) -> StageStats:
    """Records -> documents; quarantine reasons in `reason_counts`, records skipped by design (WARC requests,
    non-HTML, ...) per kind in `metrics` as `skipped.<kind>`; docs_excluded counts both."""
    is_doc = F.col(QUARANTINE).isNull()
    skipped = skipped_counts(checkpoint)
    if skipped:
        is_doc = is_doc & F.col(SKIPPED).isNull()
        timing = replace(timing, metrics={**timing.metrics, **{f"{SKIPPED_METRIC}{k}": v for k, v in skipped.items()}})
    text = F.col(TEXT)
    tokens = [] if tokenizer is None else [F.coalesce(F.sum(F.when(is_doc, _tokens(text, tokenizer))), F.lit(0))]
    row = checkpoint.agg(
        F.count(F.lit(1)).alias("records"),
        F.count(F.when(is_doc, 1)).alias("docs"),
        F.coalesce(F.sum(F.when(is_doc, F.length(text))), F.lit(0)).alias("chars"),
        F.coalesce(F.sum(F.when(is_doc, words_column(text))), F.lit(0)).alias("words"),
        *(t.alias("tokens") for t in tokens),
    ).first()
    ingest_tokens = int(row["tokens"]) if tokenizer is not None else None
    is_quarantined = F.col(QUARANTINE).isNotNull()
    reasons = {
        r["reason"]: int(r["count"])
        for r in checkpoint.where(is_quarantined).groupBy(F.col("quarantine.reason").alias("reason")).count().collect()
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
        tokens_in=ingest_tokens,
        tokens_out=ingest_tokens,
        reason_counts=reasons,
        signals={},
    )


def _tokens(text: Column, tokenizer: str) -> Column:
    from thresher.token_columns import token_count

    return token_count(text, tokenizer)


def skipped_counts(checkpoint: DataFrame) -> dict[str, int]:
    """Records skipped by design per kind (empty for inputs without such records)."""
    if SKIPPED not in checkpoint.columns:
        return {}
    rows = checkpoint.where(F.col(SKIPPED).isNotNull()).groupBy(SKIPPED).count().collect()
    return {r[SKIPPED]: int(r["count"]) for r in rows}


def skipped_total(ingest: StageStats) -> int:
    """Skipped records of an ingest stats row (its `skipped.<kind>` metrics)."""
    return int(sum(v for k, v in ingest.metrics.items() if k.startswith(SKIPPED_METRIC)))


def segment_stats(checkpoint: DataFrame, run: SegmentRun, tokenizer: str | None = None) -> list[StageStats]:
    """One stats row per stage of `segment`; raises InvariantError when documents were lost or invented.

    Two jobs over the checkpoint: one aggregation for the exact counts, sums and the quantiles of every
    numeric signal, then one grouped count of categorical tallies (reasons, histogram bins chosen from those
    quantiles, boolean signals, languages).
    """
    segment, mode, expected_in = run.segment, run.mode, run.expected_in
    stages = segment.stages
    signals = stage_signals(segment)
    numeric = [s for s in signals if s.kind == "numeric"]
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
    if tokenizer is not None:
        aggregates += _token_aggregates(segment, mode)
    for i in range(len(numeric)):
        aggregates += _moment_aggregates(f"n{i}")
    # Spark does not share a repeated expression between aggregates: the stored text is measured, and each
    # signal read and checked for finiteness, once here (which also keeps the generated code small enough
    # to compile).
    # Annotate mode keeps the original text; the stages measured the rewritten one.
    final_text = F.col(REWRITTEN_TEXT if REWRITTEN_TEXT in checkpoint.columns else TEXT)
    measured = checkpoint.select(
        "*",
        F.length(final_text).cast("long").alias(_FINAL_CHARS),
        words_column(final_text).alias(_FINAL_WORDS),
        *([_tokens(final_text, tokenizer).alias(_FINAL_TOKENS)] if tokenizer is not None else []),
        *[column for i, signal in enumerate(numeric) for column in _signal_values(signal, f"n{i}")],
    )
    counts = measured.agg(*aggregates).first().asDict()
    total = int(counts["total"])
    if total != expected_in:
        raise InvariantError(
            f"segment {segment.name}: {expected_in} documents went in but its checkpoint holds {total}"
        )
    if any(isinstance(s, GlobalStage) for s in stages):
        distinct = checkpoint.select("doc_id").distinct().count()
        if distinct != total:
            raise InvariantError(f"segment {segment.name}: {total - distinct} duplicated doc_id rows in its output")
    languages = language_columns(segment, run.earlier_stages)

    def tallies_of(bins: dict[Signal, Bins]) -> Tallies:
        return _tallies(checkpoint, segment, signals, bins, languages)

    return _segment_rows(run, languages, counts, tallies_of)


def _segment_rows(
    run: SegmentRun,
    languages: dict[str, str],
    counts: dict[str, Any],
    tallies_of: Callable[[dict[Signal, Bins]], Tallies],
) -> list[StageStats]:
    """The stats rows of a segment from its aggregates (`counts`, keyed as `segment_stats` names them) and its
    categorical tallies (made once the histogram bins are chosen from the numeric summaries)."""
    segment, mode = run.segment, run.mode
    stages = segment.stages
    signals = stage_signals(segment)
    numeric = [s for s in signals if s.kind == "numeric"]
    decided = _check_conservation(segment, counts, run.expected_in, mode)
    summaries = {s: _numeric_summary(s, counts, f"n{i}") for i, s in enumerate(numeric)}
    bins = {s: _bins_of(s, summary) for s, summary in summaries.items() if summary["count"]}
    tallies = tallies_of(bins)
    rows = []
    for offset, stage in enumerate(stages):
        reached, docs_out, excluded, flagged = decided[stage.id]
        timing = run.timings[stage.id]
        extra = {}
        if stage.id in languages:
            extra["languages"] = {
                "source": languages[stage.id],
                "counts": _counts_by_key(tallies, ("lang", stage.id, "")),
            }
        rows.append(
            _row(
                run.run_id,
                run.first_stage_index + offset,
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
                **_token_figures(stage, counts),
                reason_counts={k: v["in"] for k, v in _counts_by_key(tallies, ("reason", stage.id, "")).items()},
                signals=_signal_summaries(stage, signals, summaries, bins, tallies),
                extra=extra,
            )
        )
    return rows


def _check_conservation(
    segment: Segment, counts: dict[str, Any], expected_in: int, mode: Mode
) -> dict[str, tuple[int, int, int, int]]:
    """(docs_in, docs_out, docs_excluded, docs_flagged) per stage, after checking every document is accounted."""
    out = {}
    docs_in = expected_in
    for stage in segment.stages:
        reached = int(counts[f"{stage.id}__in"])
        kept = int(counts[f"{stage.id}__kept"])
        undecided = int(counts[f"{stage.id}__undecided"])
        # In annotate mode a global stage decides over the documents no earlier stage excluded; the others
        # pass it undecided (thresher.annotate_text), and every document goes on.
        skipped_by_design = mode == "annotate" and isinstance(stage, GlobalStage) and reached <= docs_in
        if reached != docs_in and not skipped_by_design:
            raise InvariantError(
                f"stage {stage.id}: {docs_in} documents were passed to it but it decided on {reached}"
            )
        if undecided:
            raise InvariantError(f"stage {stage.id}: {undecided} documents have no keep/drop decision")
        flagged = reached - kept
        excluded = flagged if mode == "filter" else 0
        docs_out = docs_in - excluded
        if docs_out + excluded != docs_in:
            raise InvariantError(f"stage {stage.id}: docs_in {docs_in} != docs_out {docs_out} + excluded {excluded}")
        out[stage.id] = (docs_in, docs_out, excluded, flagged)
        docs_in = docs_out
    return out


def _length_measures(segment: Segment) -> list[tuple[Column, Column, Column, Column]]:
    """Per stage: characters and words of the text entering it and leaving it.

    Only the segment's final text is stored. The text entering stage k is the `*_before` of the first
    text-rewriting stage at or after k that the row reached (rewrites in between would have recorded it),
    else the stored text, which no later stage changed.
    """
    final_chars, final_words = F.col(_FINAL_CHARS), F.col(_FINAL_WORDS)
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


def _token_aggregates(segment: Segment, mode: Mode) -> list[Column]:
    """Sums of tokens into and out of each stage, as `_length_measures` does for words, and the number of
    rows whose count is not known (a global stage that rewrote text without counting tokens): such a stage's
    figure is reported as null rather than as a wrong sum."""
    final = F.col(_FINAL_TOKENS)
    stages = segment.stages
    aggregates = []
    for k, stage in enumerate(stages):
        result = F.col(stage.id)
        reached = result.isNotNull()
        passed = result.getField(KEEP) == F.lit(True) if mode == "filter" else reached
        # The text entering stage k is recorded by the first rewriting stage at or after k that the row reached.
        tokens_in: Column = final
        for rewriter in reversed([s for s in stages[k:] if s.rewrites_text]):
            tokens_in = F.when(
                F.col(f"{rewriter.id}.chars_before").isNotNull(), F.col(f"{rewriter.id}.tokens_before")
            ).otherwise(tokens_in)
        tokens_out = F.col(f"{stage.id}.tokens_after") if stage.rewrites_text else tokens_in
        aggregates += [
            F.coalesce(F.sum(F.when(reached, tokens_in)), F.lit(0)).alias(f"{stage.id}__tokens_in"),
            F.coalesce(F.sum(F.when(passed, tokens_out)), F.lit(0)).alias(f"{stage.id}__tokens_out"),
            F.count(F.when(reached & (tokens_in.isNull() | tokens_out.isNull()), 1)).alias(
                f"{stage.id}__tokens_unknown"
            ),
        ]
    return aggregates


def _token_figures(stage: Stage, counts: dict[str, Any]) -> dict[str, int | None]:
    if f"{stage.id}__tokens_in" not in counts or counts[f"{stage.id}__tokens_unknown"]:
        return {"tokens_in": None, "tokens_out": None}
    return {"tokens_in": int(counts[f"{stage.id}__tokens_in"]), "tokens_out": int(counts[f"{stage.id}__tokens_out"])}


@dataclass(frozen=True)
class Signal:
    """A numeric or boolean field of a stage's result struct."""

    stage: Stage
    name: str
    kind: Literal["numeric", "boolean"]
    integral: bool

    @property
    def column(self) -> Column:
        return F.col(self.stage.id).getField(self.name)


def stage_signals(segment: Segment) -> list[Signal]:
    """Every numeric and boolean signal the segment's stages write (not `keep`, not the rewrite counters)."""
    skip = {KEEP, *(f.name for f in REWRITE_FIELDS)}
    out = []
    for stage in segment.stages:
        for f in stage.result_type().fields:
            if f.name in skip:
                continue
            if isinstance(f.dataType, _NUMERIC):
                out.append(Signal(stage, f.name, "numeric", isinstance(f.dataType, _INTEGRAL)))
            elif isinstance(f.dataType, BooleanType):
                out.append(Signal(stage, f.name, "boolean", False))
    return out


def language_columns(segment: Segment, earlier_stages: Sequence[Stage]) -> dict[str, str]:
    """For each stage of `segment` at or after a language-detecting stage: the column holding the language.

    A stage detects languages when its result has a string field named `lang` (LANGUAGE_FIELD); the latest
    such stage at or before a stage gives the language its documents are counted under.
    """
    source: str | None = None
    out = {}
    in_segment = {s.id for s in segment.stages}
    for stage in [*earlier_stages, *segment.stages]:
        fields = {f.name: f.dataType for f in stage.result_type().fields}
        if isinstance(fields.get(LANGUAGE_FIELD), StringType):
            source = f"{stage.id}.{LANGUAGE_FIELD}"
        if source is not None and stage.id in in_segment:
            out[stage.id] = source
    return out


def _finite(value: Column) -> Column:
    return ~F.isnan(value) & (F.abs(value) != F.lit(float("inf")))


def _value_name(prefix: str) -> str:
    return f"_stats_{prefix}_value"


def _non_finite_name(prefix: str) -> str:
    return f"_stats_{prefix}_non_finite"


def _signal_values(signal: Signal, prefix: str) -> list[Column]:
    """The signal as a double where it is finite (else null), and whether it is NaN or infinite."""
    raw = signal.column.cast("double")
    return [
        F.when(_finite(raw), raw).alias(_value_name(prefix)),
        F.coalesce(~_finite(raw), F.lit(False)).alias(_non_finite_name(prefix)),
    ]


def _moment_aggregates(prefix: str) -> list[Column]:
    finite = F.col(_value_name(prefix))
    return [
        F.count(finite).alias(f"{prefix}_count"),
        F.count(F.when(F.col(_non_finite_name(prefix)), 1)).alias(f"{prefix}_non_finite"),
        F.avg(finite).alias(f"{prefix}_mean"),
        F.min(finite).alias(f"{prefix}_min"),
        F.max(finite).alias(f"{prefix}_max"),
        F.percentile_approx(finite, list(QUANTILES), 10_000).alias(f"{prefix}_quantiles"),
    ]


def _numeric_summary(signal: Signal, counts: dict[str, Any], prefix: str) -> dict[str, Any]:
    quantiles = counts[f"{prefix}_quantiles"] or []
    summary: dict[str, Any] = {
        "kind": "numeric",
        "count": int(counts[f"{prefix}_count"]),
        "non_finite": int(counts[f"{prefix}_non_finite"]),
        "mean": counts[f"{prefix}_mean"],
        "min": counts[f"{prefix}_min"],
        "max": counts[f"{prefix}_max"],
        "quantiles": dict(zip((str(q) for q in QUANTILES), quantiles, strict=True)) if quantiles else {},
    }
    low, high = signal.stage.thresholds().get(signal.name, (None, None))
    if low is not None or high is not None:
        summary["thresholds"] = [low, high]
    return summary


def _bins_of(signal: Signal, summary: dict[str, Any]) -> Bins:
    quantiles = {float(q): v for q, v in summary["quantiles"].items()}
    # Exact extremes rather than the sketch's.
    quantiles[0.0], quantiles[1.0] = summary["min"], summary["max"]
    return choose_bins(quantiles, signal.integral, summary.get("thresholds", ()))


def _with_buckets(frame: DataFrame, columns: dict[str, Sequence[float]]) -> DataFrame:
    """Adds `<column>_bucket` = 1 + the index of the histogram bin of each column's value: 0 below the first
    edge, len(edges) above the last, the last bin closed on both sides (see `_bin_key`). Spark ML's Bucketizer
    does the binary search in compiled code; as Spark expressions, nested comparisons for 40 signals of 40 bins
    each made the generated code too large to compile, and the interpreted fallback made statistics as slow as
    the stage."""
    if not columns:
        return frame
    names = list(columns)
    splits = [[-math.inf, *edges[:-1], math.nextafter(edges[-1], math.inf), math.inf] for edges in columns.values()]
    bucketizer = Bucketizer(
        splitsArray=splits, inputCols=names, outputCols=[_bucket_name(n) for n in names], handleInvalid="keep"
    )
    return bucketizer.transform(frame)


def _bucket_name(column: str) -> str:
    return f"{column}_bucket"


def _bin_key(bucket: Column) -> Column:
    """The histogram key of a bucket: the bin's index, -1 below the first edge, len(edges) - 1 above the last."""
    return (bucket.cast("int") - F.lit(1)).cast("string")


# (kind, stage id, signal name) -> key -> {"in": documents, "kept": of which the stage kept}
Tallies = dict[tuple[str, str, str], dict[str, dict[str, int]]]


def _tallies(
    checkpoint: DataFrame,
    segment: Segment,
    signals: list[Signal],
    bins: dict[Signal, Bins],
    languages: dict[str, str],
) -> Tallies:
    """One grouped count over the checkpoint of every categorical figure of the segment's stages.

    Kinds: `reason` (documents a stage decided against, by reason), `bin` (a numeric signal's histogram bin,
    or `non_finite`), `bool` (a boolean signal's value), `lang` (documents reaching a stage, by language).
    The checkpoint is first narrowed to one plain column per figure, then each row explodes into one small
    entry per figure: the figure's index into `groups` (not its names, which would make every exploded row
    carry four strings), its key, and whether the stage kept the row.
    """
    stage_index = {stage.id: j for j, stage in enumerate(segment.stages)}
    narrow: list[Column] = []
    for j, stage in enumerate(segment.stages):
        result = F.col(stage.id)
        narrow += [
            F.coalesce(result.getField(KEEP), F.lit(False)).alias(f"kept{j}"),
            F.coalesce(result.getField(KEEP) == F.lit(False), F.lit(False)).alias(f"dropped{j}"),
            F.coalesce(result.getField(REASON), F.lit(UNSPECIFIED_REASON)).alias(f"reason{j}"),
        ]
    edges: dict[str, Sequence[float]] = {}
    for i, signal in enumerate(signals):
        if signal.kind == "boolean":
            narrow.append(signal.column.cast("string").alias(f"bool{i}"))
        elif signal in bins:
            narrow += _signal_values(signal, f"s{i}")
            edges[_value_name(f"s{i}")] = bins[signal].edges
    for stage_id, source in languages.items():
        j = stage_index[stage_id]
        code = F.coalesce(F.nullif(F.col(source), F.lit("")), F.lit(UNDETERMINED_LANGUAGE))
        narrow += [F.col(stage_id).isNotNull().alias(f"reached{j}"), code.alias(f"lang{j}")]
    frame = _with_buckets(checkpoint.select(*narrow), edges)

    groups: list[tuple[str, str, str]] = []
    entries: list[Column] = []

    def add(kind: str, stage: Stage, name: str, when: Column, key: Column) -> None:
        kept = F.col(f"kept{stage_index[stage.id]}")
        entries.append(F.when(when, F.struct(F.lit(len(groups)).alias("g"), key.alias("key"), kept.alias("kept"))))
        groups.append((kind, stage.id, name))

    for j, stage in enumerate(segment.stages):
        add("reason", stage, "", F.col(f"dropped{j}"), F.col(f"reason{j}"))
    for i, signal in enumerate(signals):
        if signal.kind == "boolean":
            add("bool", signal.stage, signal.name, F.col(f"bool{i}").isNotNull(), F.col(f"bool{i}"))
        elif signal in bins:
            value, non_finite = F.col(_value_name(f"s{i}")), F.col(_non_finite_name(f"s{i}"))
            key = F.when(non_finite, F.lit(NON_FINITE)).otherwise(_bin_key(F.col(_bucket_name(_value_name(f"s{i}")))))
            add("bin", signal.stage, signal.name, value.isNotNull() | non_finite, key)
    for stage_id in languages:
        j = stage_index[stage_id]
        add("lang", segment.stages[j], "", F.col(f"reached{j}"), F.col(f"lang{j}"))
    rows = (
        frame.select(F.explode(F.array(*entries)).alias("e"))
        .where(F.col("e").isNotNull())
        .groupBy("e.g", "e.key")
        .agg(F.count(F.lit(1)).alias("n"), F.count(F.when(F.col("e.kept"), 1)).alias("kept"))
        .collect()
    )
    out: Tallies = {}
    for row in rows:
        group = out.setdefault(groups[row["g"]], {})
        group[row["key"]] = {"in": int(row["n"]), "kept": int(row["kept"])}
    return out


def _counts_by_key(tallies: Tallies, group: tuple[str, str, str]) -> dict[str, dict[str, int]]:
    """Most frequent first, ties by key."""
    return dict(sorted(tallies.get(group, {}).items(), key=lambda kv: (-kv[1]["in"], kv[0])))


def _signal_summaries(
    stage: Stage,
    signals: list[Signal],
    summaries: dict[Signal, dict[str, Any]],
    bins: dict[Signal, Bins],
    tallies: Tallies,
) -> dict[str, Any]:
    out = {}
    for signal in signals:
        if signal.stage is not stage:
            continue
        key = (stage.id, signal.name)
        if signal.kind == "boolean":
            out[signal.name] = _boolean_summary(tallies, key)
        elif signal in bins:
            out[signal.name] = _with_histogram(summaries[signal], bins[signal], tallies, key)
        else:
            out[signal.name] = summaries[signal]
    return out


def _with_histogram(summary: dict[str, Any], bins: Bins, tallies: Tallies, key: tuple[str, str]) -> dict[str, Any]:
    counted = tallies.get(("bin", *key), {})

    def at(index: int) -> dict[str, int]:
        return counted.get(str(index), {"in": 0, "kept": 0})

    histogram = {
        "scale": bins.scale,
        "edges": list(bins.edges),
        "counts": [at(i)["in"] for i in range(bins.count)],
        "kept": [at(i)["kept"] for i in range(bins.count)],
        "below": {"count": at(-1)["in"], "kept": at(-1)["kept"]},
        "above": {"count": at(bins.count)["in"], "kept": at(bins.count)["kept"]},
    }
    return {**summary, "histogram": histogram}


def _boolean_summary(tallies: Tallies, key: tuple[str, str]) -> dict[str, Any]:
    counted = tallies.get(("bool", *key), {})
    values = {v: {"count": c["in"], "kept": c["kept"]} for v, c in sorted(counted.items())}
    return {"kind": "boolean", "count": sum(v["count"] for v in values.values()), "values": values}


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
    tokens_in: int | None = None,
    tokens_out: int | None = None,
    signals: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> StageStats:
    extra = dict(extra or {})
    return StageStats(
        run_id=run_id,
        stage_index=index,
        stage=stage,
        segment=segment,
        mode=mode,
        docs_in=docs_in,
        docs_out=docs_out,
        docs_excluded=docs_excluded,
        docs_flagged=docs_flagged,
        chars_in=chars_in,
        chars_out=chars_out,
        words_in=words_in,
        words_out=words_out,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        reason_counts=reason_counts,
        signals=signals,
        details=timing.details,
        languages=extra.pop("languages", None),
        metrics={k: float(v) for k, v in timing.metrics.items()},
        wall_seconds=timing.wall_seconds,
        started_at=timing.started_at,
        finished_at=timing.finished_at,
        extra=extra,
    )
