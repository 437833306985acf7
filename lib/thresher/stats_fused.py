"""The driver's side of statistics as a by-product (see thresher.stats_tap): what each task measures, and the
stats rows made from what the tasks reported, identical to those thresher.stats makes by re-reading a
checkpoint.

`None` from the `*_from_partials` functions means the partials cannot be trusted (they do not account for
exactly the rows that went in, or a global stage's doc ids are not those it was given): the caller then
computes the rows from the committed checkpoint, whose conservation check raises if the data is wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from thresher.core.records import StageStats
from thresher.io.ingest import QUARANTINE, SKIPPED
from thresher.plan import Segment
from thresher.signal_bins import Bins
from thresher.stages.base import GlobalStage, Mode, Stage
from thresher.stats import (
    QUANTILES,
    SKIPPED_METRIC,
    SegmentRun,
    Signal,
    StageTiming,
    Tallies,
    _row,
    _segment_rows,
    language_columns,
    stage_signals,
)
from thresher.stats_tap import (
    NON_FINITE,
    IngestSpec,
    NumericField,
    SegmentSpec,
    bin_keys,
    quantiles_like_spark,
)

log = logging.getLogger("thresher")

# The accuracy thresher.stats passes to percentile_approx.
_ACCURACY = 10_000


def ingest_spec(tokenizer: str | None) -> IngestSpec:
    return IngestSpec(QUARANTINE, SKIPPED, tokenizer)


def segment_spec(segment: Segment, mode: Mode, earlier_stages: Sequence[Stage], tokenizer: str | None) -> SegmentSpec:
    signals = stage_signals(segment)
    return SegmentSpec(
        stages=tuple(s.id for s in segment.stages),
        rewrites=tuple(s.rewrites_text for s in segment.stages),
        filter_mode=mode == "filter",
        tokenizer=tokenizer,
        numeric=tuple(NumericField(s.stage.id, s.name) for s in signals if s.kind == "numeric"),
        booleans=tuple(NumericField(s.stage.id, s.name) for s in signals if s.kind == "boolean"),
        languages=tuple(language_columns(segment, earlier_stages).items()),
    )


def ingest_stats_from_partials(
    partials: dict[int, Any], run_id: str, mode: Mode, timing: StageTiming, tokenizer: str | None
) -> tuple[StageStats, int]:
    """The ingest stats row (as thresher.stats.ingest_stats) and the digest of the documents' ids."""
    merged = IngestSpec.merge(partials)
    if merged["skipped"]:
        skipped = {f"{SKIPPED_METRIC}{k}": v for k, v in merged["skipped"].items()}
        timing = replace(timing, metrics={**timing.metrics, **skipped})
    tokens = merged["tokens"] if tokenizer is not None else None
    quarantined = merged["records"] - merged["docs"]
    row = _row(
        run_id,
        0,
        "ingest",
        "00_ingest",
        mode,
        timing,
        docs_in=merged["records"],
        docs_out=merged["docs"],
        docs_excluded=quarantined,
        docs_flagged=quarantined,
        chars_in=merged["chars"],
        chars_out=merged["chars"],
        words_in=merged["words"],
        words_out=merged["words"],
        tokens_in=tokens,
        tokens_out=tokens,
        reason_counts=merged["reasons"],
        signals={},
    )
    return row, merged["ids"]


def segment_stats_from_partials(
    partials: dict[int, Any], spec: SegmentSpec, run: SegmentRun, input_digest: int | None
) -> tuple[list[StageStats], int] | None:
    """The stats rows of a segment (as thresher.stats.segment_stats) and the digest of the ids it passes on;
    None when the partials cannot be trusted or a global stage's ids cannot be checked without the checkpoint."""
    segment, expected_in = run.segment, run.expected_in
    merged = spec.merge(partials)
    if merged["rows"] != expected_in:
        log.warning(
            "%s: the pass measured %d rows for %d documents in; statistics re-read the checkpoint",
            segment.name,
            merged["rows"],
            expected_in,
        )
        return None
    if any(isinstance(s, GlobalStage) for s in segment.stages) and merged["ids_all"] != input_digest:
        if input_digest is not None:
            log.warning("%s: doc ids differ from its input's; statistics re-read the checkpoint", segment.name)
        return None
    signals = stage_signals(segment)
    numeric = [s for s in signals if s.kind == "numeric"]
    counts = _counts(merged, spec, numeric)
    languages = language_columns(segment, run.earlier_stages)

    def tallies_of(bins: dict[Signal, Bins]) -> Tallies:
        return _tallies(merged, spec, numeric, bins)

    rows = _segment_rows(run, languages, counts, tallies_of)
    return rows, merged["ids_passed"]


def _counts(merged: dict[str, Any], spec: SegmentSpec, numeric: list[Signal]) -> dict[str, Any]:
    """The aggregates keyed as thresher.stats.segment_stats names them."""
    counts: dict[str, Any] = {"total": merged["rows"]}
    for stage, figures in merged["stages"].items():
        for key, value in figures.items():
            if key.startswith("tokens") and spec.tokenizer is None:
                continue
            counts[f"{stage}__{key}"] = value
    for i, _ in enumerate(numeric):
        slot = merged["numeric"][i]
        distinct, occurrences = slot["distinct"], slot["counts"]
        count = int(occurrences.sum())
        counts[f"n{i}_count"] = count
        counts[f"n{i}_non_finite"] = slot["non_finite"]
        counts[f"n{i}_mean"] = slot["sum"] / count if count else None
        counts[f"n{i}_min"] = float(distinct[0]) if count else None
        counts[f"n{i}_max"] = float(distinct[-1]) if count else None
        counts[f"n{i}_quantiles"] = quantiles_like_spark(distinct, occurrences, QUANTILES, _ACCURACY) or None
    return counts


def _tallies(merged: dict[str, Any], spec: SegmentSpec, numeric: list[Signal], bins: dict[Signal, Bins]) -> Tallies:
    out: Tallies = {
        group: {key: {"in": n, "kept": kept} for key, (n, kept) in tally.items()}
        for group, tally in merged["tallies"].items()
    }
    for i, signal in enumerate(numeric):
        if signal not in bins:
            continue
        slot = merged["numeric"][i]
        keys = bin_keys(slot["distinct"], bins[signal].edges)
        group: dict[str, dict[str, int]] = {}
        for key in np.unique(keys).tolist():
            chosen = keys == key
            group[str(key)] = {"in": int(slot["counts"][chosen].sum()), "kept": int(slot["kept"][chosen].sum())}
        if slot["non_finite"]:
            group[NON_FINITE] = {"in": slot["non_finite"], "kept": slot["non_finite_kept"]}
        if group:
            out[("bin", signal.stage.id, signal.name)] = group
    return out


def tap(frame: Any, spec: IngestSpec | SegmentSpec, inner: Any = None, schema: Any = None) -> tuple[Any, Any]:
    """`frame` measured by a StatsTap as its rows are written (through `inner`, a mapInArrow function whose
    output schema is `schema`, when given), and the accumulator the tasks report to; (frame, None) when the
    frame cannot go through Arrow (its statistics are then computed from the checkpoint)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    from thresher.stats_tap import PartialsByPartition, StatsTap

    output_schema = schema if schema is not None else frame.schema
    try:
        to_arrow_schema(output_schema)
    except (TypeError, NotImplementedError) as error:
        log.info("statistics from the checkpoint: %s", error)
        if inner is not None:
            return frame.mapInArrow(inner, output_schema), None
        return frame, None
    accumulator = frame.sparkSession.sparkContext.accumulator({}, PartialsByPartition())
    return frame.mapInArrow(StatsTap(spec, accumulator, inner), output_schema), accumulator
