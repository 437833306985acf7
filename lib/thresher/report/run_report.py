"""`report.html` of one run: funnel, reasons, signal histograms with thresholds, languages, stage details,
example documents, quarantine, timings and the resolved config."""

from __future__ import annotations

import time
from typing import Any

import yaml
from pyspark.sql import SparkSession

from thresher.io import fs
from thresher.io.layout import OutputLayout
from thresher.report.contamination import contamination_sections
from thresher.report.html import (
    Section,
    document_text,
    figure,
    heading,
    key_values,
    page,
    paragraph,
    percent,
    preformatted,
    table,
)
from thresher.report.languages import language_sections
from thresher.report.run_data import RunData, StageStats, load_run
from thresher.report.svg import Bar, Histogram, bar_chart, fmt, histogram_chart
from thresher.stats import SKIPPED_METRIC

# Languages drawn one by one; the rest are summed as "other".
TOP_LANGUAGES = 20
# Entries of a stage detail mapping drawn as bars.
MAX_DETAIL_BARS = 40


def write_run_report(spark: SparkSession, root: str, output: str | None = None) -> str:
    """Write the report of the run in `root` (to `root`/report.html unless `output` is given); returns its path."""
    clock = time.perf_counter()
    data = load_run(spark, root)
    path = output or OutputLayout(root).report
    fs.write_text_atomic(path, render_run_report(data, time.perf_counter() - clock))
    return path


def render_run_report(data: RunData, load_seconds: float | None = None) -> str:
    sections = [
        _overview(data),
        _funnel(data),
        _reasons(data),
        _signals(data),
        _languages(data),
        *language_sections(data),
        *contamination_sections(data),
        _details(data),
        _examples(data),
        _quarantine(data),
        _timings(data, load_seconds),
        _config(data),
    ]
    manifest = data.manifest
    subtitle = f"{manifest.status or 'unknown'} · mode {data.mode} · {data.root}"
    return page(f"thresher run {data.run_id}", subtitle, sections)


def _stage_rows(data: RunData) -> list[StageStats]:
    return [s for s in data.stats if s.stage != "ingest"]


def _ingest(data: RunData) -> StageStats | None:
    return next((s for s in data.stats if s.stage == "ingest"), None)


def _overview(data: RunData) -> Section:
    manifest = data.manifest
    parts = []
    totals = manifest.totals
    if totals:
        parts.append(
            f'<p class="totals" data-totals>{totals["input_records"]:,} input records = '
            f"<b>{totals['kept']:,} kept</b> + {totals['excluded']:,} excluded + "
            f"{totals['quarantine']:,} quarantined"
            + (f" + {totals['skipped']:,} skipped (not documents by design)" if totals.get("skipped") else "")
            + "</p>"
        )
    if manifest.error:
        parts.append(paragraph(f"The run failed: {manifest.error}", "down"))
    inputs = "; ".join(
        f"{i.get('source')} ({i.get('format')}, {i.get('files')} file(s), {fmt(i.get('bytes', 0))} bytes)"
        for i in manifest.input_files
    )
    versions = ", ".join(f"{k} {v}" for k, v in manifest.versions.items() if v)
    info = [
        ("run", f"{data.run_id} · {manifest.status} · mode {data.mode}"),
        ("input", inputs),
        ("output", f"{data.root} ({manifest.table_format} tables)"),
        ("time", f"{manifest.created_at} → {manifest.updated_at} on {manifest.spark_master}"),
    ]
    parts.append(key_values(info, "run"))
    parts.append(paragraph(versions, "muted small"))
    return Section("overview", "Overview", parts)


def _funnel(data: RunData) -> Section:
    if not data.stats:
        return Section("funnel", "Funnel", [paragraph("No stage has committed statistics yet.")])
    annotate = data.mode == "annotate"
    docs, words, tokens = [], [], []
    for s in data.stats:
        label = "ingest (records → docs)" if s.stage == "ingest" else s.stage
        out = s.docs_in - s.docs_flagged if annotate else s.docs_out
        docs.append(Bar(label, [out], s.docs_in, percent(out, s.docs_in)))
        words.append(Bar(s.stage, [s.words_out], s.words_in, percent(s.words_out, s.words_in)))
        if s.tokens_in is not None and s.tokens_out is not None:
            tokens.append(Bar(s.stage, [s.tokens_out], s.tokens_in, percent(s.tokens_out, s.tokens_in)))
    kept_name = "not flagged" if annotate else "out"
    docs_caption = (
        "Documents into each stage (light) and passed on (dark)."
        if not annotate
        else "Documents into each stage (light) and those the stage did not flag (dark); annotate mode removes "
        "nothing, so every stage sees every document."
    )
    parts = [
        figure(bar_chart(docs, [kept_name], "documents per stage", "funnel-docs"), docs_caption),
        figure(
            bar_chart(words, ["tokens out"], "tokens per stage", "funnel-tokens"),
            "Tokens (whitespace words) into each stage (light) and out of it (dark): text rewriting and "
            "removals both count.",
        ),
    ]
    if tokens:
        tokenizer = (data.manifest.config.get("run") or {}).get("tokenizer")
        parts.append(
            figure(
                bar_chart(tokens, ["tokenizer tokens out"], "tokenizer tokens per stage", "funnel-llm-tokens"),
                f"Tokens of the run's tokenizer ({tokenizer}) into each stage (light) and out of it (dark).",
            )
        )
    first_in = data.stats[0].docs_in or 0
    rows = []
    for s in data.stats:
        rows.append(
            [
                s.stage,
                s.docs_in,
                s.docs_out,
                s.docs_excluded,
                s.docs_flagged,
                percent(s.docs_in - s.docs_flagged, s.docs_in),
                percent(s.docs_out, first_in),
                s.chars_in,
                s.chars_out,
                s.words_in,
                s.words_out,
                *([s.tokens_in, s.tokens_out] if tokens else []),
            ]
        )
    headers = ["stage", "docs in", "docs out", "excluded", "flagged", "retention", "of input", "chars in"]
    counted = ["tokenizer tokens in", "tokenizer tokens out"] if tokens else []
    parts.append(table([*headers, "chars out", "tokens in", "tokens out", *counted], rows, "funnel"))
    return Section("funnel", "Funnel", parts)


def _reasons(data: RunData) -> Section:
    parts = []
    rows = []
    for s in _stage_rows(data):
        reasons = s.reason_counts or {}
        if not reasons:
            continue
        ordered = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        bars = [Bar(reason, [count], note=percent(count, s.docs_in)) for reason, count in ordered]
        verb = "flagged" if data.mode == "annotate" else "removed"
        parts.append(
            figure(
                bar_chart(bars, [verb], f"reasons of {s.stage}", "reasons"),
                f"{s.stage}: documents {verb} by reason (share of the {s.docs_in:,} it saw)",
            )
        )
        rows += [[s.stage, reason, count, percent(count, s.docs_in)] for reason, count in ordered]
    if rows:
        parts.append(table(["stage", "reason", "documents", "of stage input"], rows, "reasons"))
    else:
        parts.append(paragraph("No stage decided against any document."))
    return Section("reasons", "Reasons per stage", parts)


def _signals(data: RunData) -> Section:
    parts = []
    removed = "flagged" if data.mode == "annotate" else "removed"
    for s in _stage_rows(data):
        if not s.signals:
            continue
        parts.append(heading(s.stage))
        quantile_rows, boolean_rows = [], []
        for name, summary in s.signals.items():
            if summary.get("kind") == "boolean":
                values = summary.get("values", {})
                true = values.get("true", {}).get("count", 0)
                boolean_rows.append([name, summary["count"], true, percent(true, summary["count"])])
                continue
            if summary.get("histogram"):
                parts.append(_histogram_figure(s.stage, name, summary, removed))
            q = summary.get("quantiles") or {}
            quantile_rows.append(
                [name, summary.get("count", 0)]
                + [q.get(k) for k in ("0.01", "0.05", "0.5", "0.95", "0.99")]
                + [summary.get("mean"), summary.get("min"), summary.get("max")]
            )
        if quantile_rows:
            headers = ["signal", "count", "p1", "p5", "median", "p95", "p99", "mean", "min", "max"]
            parts.append(table(headers, quantile_rows, "quantiles"))
        if boolean_rows:
            parts.append(table(["signal", "count", "true", "share true"], boolean_rows, "booleans"))
    if not parts:
        parts.append(paragraph("No stage writes numeric or boolean signals."))
    return Section("signals", "Signals", parts)


def _histogram_figure(stage: str, name: str, summary: dict[str, Any], removed: str) -> str:
    h = summary["histogram"]
    low, high = summary.get("thresholds") or (None, None)
    thresholds = [(label, v) for label, v in (("min", low), ("max", high)) if v is not None]
    chart = Histogram(
        edges=h["edges"],
        counts=h["counts"],
        kept=h["kept"],
        below=(h["below"]["count"], h["below"]["kept"]),
        above=(h["above"]["count"], h["above"]["kept"]),
        scale=h["scale"],
        thresholds=thresholds,
    )
    caption = f"{stage}.{name}: {summary['count']:,} values, median {fmt(summary['quantiles'].get('0.5', 0))}"
    outside = [f"{label} {fmt(v)}" for label, v in thresholds if not h["edges"][0] <= v <= h["edges"][-1]]
    if outside:
        caption += (
            f"; threshold {', '.join(outside)} lies beyond the data ({fmt(summary['min'])}..{fmt(summary['max'])})"
        )
    if summary.get("non_finite"):
        caption += f"; {summary['non_finite']:,} NaN or infinite"
    return figure(histogram_chart(chart, f"histogram of {stage}.{name}", removed), caption)


def _languages(data: RunData) -> Section:
    with_languages = [s for s in _stage_rows(data) if s.languages]
    if not with_languages:
        return Section(
            "languages",
            "Languages",
            [paragraph("No stage detects languages (a stage does when its result has a string field `lang`).")],
        )
    first = with_languages[0]
    counts = first.languages["counts"]
    ordered = list(counts.items())
    shown, rest = ordered[:TOP_LANGUAGES], ordered[TOP_LANGUAGES:]
    bars = [Bar(code, [c["kept"]], c["in"], percent(c["kept"], c["in"])) for code, c in shown]
    if rest:
        other_in, other_kept = sum(c["in"] for _, c in rest), sum(c["kept"] for _, c in rest)
        bars.append(Bar(f"{len(rest)} others", [other_kept], other_in, percent(other_kept, other_in)))
    parts = [
        figure(
            bar_chart(bars, ["kept"], "language mix", "languages"),
            f"Documents per language ({first.languages['source']}) into {first.stage} (light) and kept by it (dark)",
        )
    ]
    codes = [code for code, _ in shown]
    rows = []
    for code in codes:
        row: list[Any] = [code]
        for s in with_languages:
            c = s.languages["counts"].get(code, {"in": 0, "kept": 0})
            row.append(f"{c['in']:,} → {c['kept']:,}")
        rows.append(row)
    headers = ["language", *(f"{s.stage} (in → kept)" for s in with_languages)]
    parts.append(table(headers, rows, "languages"))
    return Section("languages", "Languages", parts)


def _details(data: RunData) -> Section:
    parts = []
    for s in _stage_rows(data):
        metrics = {k: v for k, v in s.metrics.items() if k != "cpu_seconds"}
        if not metrics and not s.details:
            continue
        parts.append(heading(s.stage))
        if metrics:
            parts.append(table(["metric", "value"], sorted(metrics.items()), "metrics"))
        for key, value in s.details.items():
            parts.append(_detail(s.stage, key, value))
    if not parts:
        parts.append(paragraph("No stage reported metrics or details (dedup clusters, selection groups, ...)."))
    return Section("details", "Stage details and duplicate clusters", parts)


def _detail(stage: str, key: str, value: Any) -> str:
    """A stage detail, drawn by its shape: label -> number as bars (e.g. duplicate-cluster sizes), label ->
    record as a table, numbers as a summary, anything else as JSON."""
    title = key.replace("_", " ")
    if isinstance(value, dict) and value and all(_is_number(v) for v in value.values()):
        items = list(value.items())[:MAX_DETAIL_BARS]
        bars = [Bar(str(k), [float(v)]) for k, v in items]
        more = f" (first {MAX_DETAIL_BARS} of {len(value)})" if len(value) > MAX_DETAIL_BARS else ""
        kind = "cluster-sizes" if "cluster" in key else "detail"
        return figure(bar_chart(bars, [title], f"{stage} {title}", kind), f"{stage}: {title}{more}")
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        columns = sorted({c for v in value.values() for c in v})
        rows = [[str(k), *(_cell(v.get(c)) for c in columns)] for k, v in value.items()]
        return heading(f"{stage}: {title}") + table(["", *columns], rows, "detail")
    if isinstance(value, list) and value and all(_is_number(v) for v in value):
        ordered = sorted(value)
        summary = (
            f"{stage}: {title}: {len(value):,} values, min {fmt(ordered[0])}, median "
            f"{fmt(ordered[len(ordered) // 2])}, max {fmt(ordered[-1])}, sum {fmt(sum(value))}"
        )
        return paragraph(summary)
    text = yaml.safe_dump(value, sort_keys=False, default_flow_style=None, width=110)
    return heading(f"{stage}: {title}") + preformatted(text[:4000])


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(value: Any) -> Any:
    return value if _is_number(value) or value is None else str(value)


def _examples(data: RunData) -> Section:
    verb = "flagged" if data.mode == "annotate" else "excluded"
    parts = []
    for s in _stage_rows(data):
        for reason, count in sorted((s.reason_counts or {}).items(), key=lambda kv: (-kv[1], kv[0])):
            examples = data.examples.get((s.stage, reason), [])
            parts.append(heading(f"{s.stage} · {reason} ({count:,} {verb})"))
            if not examples:
                parts.append(paragraph("No example: the run has not written its final tables.", "muted"))
                continue
            rows = [[e.doc_id, e.chars, document_text(e.snippet, e.chars)] for e in examples]
            parts.append(table(["doc_id", "chars", "beginning of the text"], rows, "examples"))
    if not parts:
        parts.append(paragraph(f"No document was {verb}."))
    return Section("examples", f"{verb.capitalize()} documents", parts)


def _skipped_paragraph(ingest: StageStats | None) -> list[str]:
    """Input records skipped by design (WARC requests, non-HTML responses, ...) per kind."""
    metrics = ingest.metrics if ingest else {}
    kinds = sorted(
        ((k.removeprefix(SKIPPED_METRIC), int(v)) for k, v in metrics.items() if k.startswith(SKIPPED_METRIC)),
        key=lambda kv: (-kv[1], kv[0]),
    )
    if not kinds:
        return []
    listed = ", ".join(f"{kind} {count:,}" for kind, count in kinds)
    return [paragraph(f"Skipped by design (not documents, not errors): {listed}.")]


def _quarantine(data: RunData) -> Section:
    ingest = _ingest(data)
    reasons = (ingest.reason_counts or {}) if ingest else {}
    if not reasons:
        return Section(
            "quarantine", "Quarantine", [paragraph("No input record was quarantined."), *_skipped_paragraph(ingest)]
        )
    ordered = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    total = ingest.docs_in if ingest else 0
    bars = [Bar(reason, [count], note=percent(count, total)) for reason, count in ordered]
    parts = [figure(bar_chart(bars, ["records"], "quarantine reasons", "quarantine"), "Quarantined records by reason")]
    rows = []
    for reason, count in ordered:
        examples = data.quarantine_examples.get(reason, [])
        if not examples:
            rows.append([reason, count, "", "", ""])
        for e in examples:
            where = f"{e.file}:{e.line}" if e.line is not None else e.file
            rows.append([reason, count, where, e.error or "", document_text(e.raw or "", len(e.raw or ""))])
    parts.append(table(["reason", "records", "where", "error", "raw record (beginning)"], rows, "quarantine"))
    parts.extend(_skipped_paragraph(ingest))
    return Section("quarantine", "Quarantine", parts)


def _speed_note(s: StageStats) -> str:
    # Absent when the run that committed the stage was killed before it could record its time.
    return "time not recorded" if s.docs_per_second is None else f"{fmt(s.docs_per_second)} docs/s"


def _timings(data: RunData, load_seconds: float | None) -> Section:
    if not data.stats:
        return Section("timings", "Timings", [])
    bars = [Bar(s.stage, [s.wall_seconds or 0.0], note=_speed_note(s)) for s in data.stats]
    parts = [
        figure(
            bar_chart(bars, ["seconds"], "wall time per stage", "timings"),
            "Wall seconds per stage; fused row stages share their pass's time in proportion to their measured "
            "compute time.",
        )
    ]
    rows = [
        [
            s.stage,
            s.segment,
            s.wall_seconds if s.wall_seconds is not None else "not recorded",
            s.docs_per_second if s.docs_per_second is not None else "",
            s.metrics.get("cpu_seconds"),
        ]
        for s in data.stats
    ]
    parts.append(table(["stage", "segment", "wall s", "docs/s", "worker compute s"], rows, "timings"))
    segments = data.manifest.segments
    segment_rows = [[name, info.wall_seconds, info.stats_seconds] for name, info in segments.items()]
    if segment_rows:
        parts.append(table(["segment", "pass + commit s", "statistics s"], segment_rows, "segments"))
    if load_seconds is not None:
        parts.append(paragraph(f"Reading this report's data took {load_seconds:.1f} s.", "muted small"))
    return Section("timings", "Timings", parts)


def _config(data: RunData) -> Section:
    config = data.manifest.config
    text = yaml.safe_dump(config, sort_keys=False, default_flow_style=False, allow_unicode=True)
    parts = [preformatted(text, "config")]
    if data.manifest.config_path:
        parts.insert(0, paragraph(f"From {data.manifest.config_path}, with defaults filled in.", "muted"))
    return Section("config", "Resolved config", parts)
