"""The end-of-run summary printed by `thresher run`: per-stage counts and where the output is."""

from __future__ import annotations

from typing import TextIO

from thresher.core.records import StageStats
from thresher.io import fs
from thresher.io.layout import OutputLayout
from thresher.runner import RunResult
from thresher.stats import SKIPPED_METRIC

# Reasons listed per stage; more are summarised as "+N more" (the report and stats/ have them all).
TOP_REASONS = 6


def print_summary(result: RunResult, out: TextIO) -> None:
    layout = OutputLayout(result.output)
    print(f"\nrun {result.run_id}", file=out)
    mode = result.stats[0]["mode"] if result.stats else "filter"
    # Filter mode removes what a stage decides against; annotate mode only flags it (removes nothing).
    decided = "removed" if mode == "filter" else "flagged"
    header = f"{'stage':<22}{'docs in':>10}{'out':>10}{decided:>10}{'chars kept':>12}{'docs/s':>10}"
    # With run.tokenizer: the tokens each stage passed on.
    with_tokens = any(row["tokens_out"] is not None for row in result.stats)
    if with_tokens:
        header += f"{'tokens out':>14}"
    print(header, file=out)
    print("-" * len(header), file=out)
    throughput = segment_throughput(result.stats)
    for row in result.stats:
        chars_kept = row["chars_out"] / row["chars_in"] if row["chars_in"] else 1.0
        count = row["docs_excluded"] if mode == "filter" else row["docs_flagged"]
        speed = throughput.get((row["segment"], row["stage"]))
        print(
            f"{row['stage']:<22}{row['docs_in']:>10}{row['docs_out']:>10}{count:>10}{chars_kept:>11.1%}"
            f"{f'{speed:.0f}' if speed is not None else '':>10}"
            + (f"{_count(row['tokens_out']):>14}" if with_tokens else ""),
            file=out,
        )
        reasons = format_reasons(row["reason_counts"])
        if reasons:
            print(f"{'':<22}reasons: {reasons}", file=out)
        skipped = _skipped_kinds(row)
        if skipped:
            print(f"{'':<22}skipped: " + ", ".join(f"{k} {v}" for k, v in skipped[:6]), file=out)
    if any(len(stages) > 1 for stages in _stages_by_segment(result.stats).values()):
        print("docs/s: per pass over the data (stages fused in one pass share it)", file=out)
    if result.stopped_after:
        print(
            f"\nstopped after {result.stopped_after} (--until); run without --until to finish the pipeline and "
            "write the final tables",
            file=out,
        )
        if result.reused:
            print(f"reused committed checkpoints: {', '.join(result.reused)}", file=out)
        print(f"\ncheckpoints: {layout.checkpoints}\nstats:       {layout.stats}", file=out)
        print(f"manifest:    {layout.manifest}", file=out)
        return
    totals = result.totals
    print(
        f"\n{totals['input_records']} input records = {totals['kept']} kept + {totals['excluded']} excluded + "
        f"{totals['quarantine']} quarantined" + (f" + {totals['skipped']} skipped" if totals.get("skipped") else ""),
        file=out,
    )
    if result.reused:
        print(f"reused committed checkpoints: {', '.join(result.reused)}", file=out)
    print("\noutput (Delta tables):", file=out)
    for name in ("kept", "excluded", "quarantine", "stats"):
        print(f"  {name:<11}{getattr(layout, name)}", file=out)
    print(f"  {'manifest':<11}{layout.manifest}", file=out)
    if fs.exists(layout.report):
        print(f"  {'report':<11}{layout.report}", file=out)


def format_reasons(counts: dict[str, int], top: int = TOP_REASONS) -> str:
    """Every reason with its count, most frequent first; past `top`, the rest as '+N more (M docs)'."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{k} {v}" for k, v in ordered[:top])
    rest = ordered[top:]
    if rest:
        text += f", +{len(rest)} more ({sum(v for _, v in rest)} docs)"
    return text


def segment_throughput(rows: list[dict]) -> dict[tuple[str, str], float]:
    """Documents per second of each pass (segment), keyed by (segment, its first stage): a fused stage's own
    share of the wall time is an estimate, its docs/s would not mean anything."""
    out = {}
    for segment, stages in _stages_by_segment(rows).items():
        wall = sum(r["wall_seconds"] or 0.0 for r in stages)
        if wall > 0:
            out[(segment, stages[0]["stage"])] = stages[0]["docs_in"] / wall
    return out


def _stages_by_segment(rows: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["segment"], []).append(row)
    return grouped


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _skipped_kinds(row: StageStats) -> list[tuple[str, int]]:
    """(kind, records) skipped by design at ingest (WARC requests, non-HTML, ...), most frequent first."""
    metrics = row.metrics
    kinds = [(k.removeprefix(SKIPPED_METRIC), int(v)) for k, v in metrics.items() if k.startswith(SKIPPED_METRIC)]
    return sorted(kinds, key=lambda kv: (-kv[1], kv[0]))
