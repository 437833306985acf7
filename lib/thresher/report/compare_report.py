"""The comparison of two runs as HTML and as a plain-text summary: what changed in the config, which stage's
retention moved and by how much, which reasons grew or shrank, and which documents changed outcome."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from thresher.report.compare import Comparison
from thresher.report.html import Raw, Section, document_text, figure, heading, page, paragraph, percent, table
from thresher.report.run_data import RunData, StageStats
from thresher.report.svg import Bar, bar_chart

# Config keys that differ between any two runs and say nothing about their settings.
_IGNORED_CONFIG = ("run.output", "run.run_id")
# Moved-document groups drawn with examples; the table lists all of them.
MAX_MOVEMENT_GROUPS = 30


@dataclass(frozen=True)
class StagePair:
    stage: str
    a: StageStats | None
    b: StageStats | None

    @staticmethod
    def retention(s: StageStats | None) -> float | None:
        if s is None or not s.docs_in:
            return None
        return (s.docs_in - s.docs_flagged) / s.docs_in

    @property
    def change(self) -> float | None:
        a, b = self.retention(self.a), self.retention(self.b)
        return None if a is None or b is None else b - a


def stage_pairs(c: Comparison) -> list[StagePair]:
    """Stages of both runs in pipeline order (A's order, B's extra stages after their predecessor)."""
    by_a = {s.stage: s for s in c.a.stats}
    by_b = {s.stage: s for s in c.b.stats}
    order = list(by_a)
    for i, stage in enumerate(by_b):
        if stage not in order:
            previous = list(by_b)[i - 1] if i else None
            order.insert(order.index(previous) + 1 if previous in order else len(order), stage)
    return [StagePair(stage, by_a.get(stage), by_b.get(stage)) for stage in order]


def reason_changes(c: Comparison) -> list[tuple[str, str, int, int]]:
    """(stage, reason, count in A, count in B) of every reason whose count changed, largest change first."""
    out = []
    for pair in stage_pairs(c):
        a = (pair.a.reason_counts or {}) if pair.a else {}
        b = (pair.b.reason_counts or {}) if pair.b else {}
        for reason in sorted(set(a) | set(b)):
            if a.get(reason, 0) != b.get(reason, 0):
                out.append((pair.stage, reason, a.get(reason, 0), b.get(reason, 0)))
    return sorted(out, key=lambda r: (-abs(r[3] - r[2]), r[0], r[1]))


def config_changes(c: Comparison) -> list[tuple[str, Any, Any]]:
    a = dict(_flatten(c.a.manifest.config))
    b = dict(_flatten(c.b.manifest.config))
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k not in _IGNORED_CONFIG)
    return [(k, a.get(k, "(absent)"), b.get(k, "(absent)")) for k in keys]


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def render_comparison(c: Comparison) -> str:
    sections = [_runs(c), _retention(c), _reasons(c), _moved(c), _timings(c)]
    return page(f"thresher: {c.a.run_id} vs {c.b.run_id}", f"A = {c.a.root} · B = {c.b.root}", sections)


def _totals(run: RunData) -> str:
    t = run.manifest.totals
    if not t:
        return f"({run.manifest.status or 'unknown'}: no totals)"
    return f"{t['input_records']:,} in → {t['kept']:,} kept ({percent(t['kept'], t['input_records'])})"


def _runs(c: Comparison) -> Section:
    rows = [
        ["run", c.a.run_id, c.b.run_id],
        ["output", c.a.root, c.b.root],
        ["status", c.a.manifest.status, c.b.manifest.status],
        ["mode", c.a.mode, c.b.mode],
        ["totals", _totals(c.a), _totals(c.b)],
    ]
    parts = [table(["", "A", "B"], rows, "runs")]
    changes = config_changes(c)
    if changes:
        parts.append(heading("Config differences"))
        parts.append(table(["key", "A", "B"], [[k, _show(a), _show(b)] for k, a, b in changes], "config-diff"))
    else:
        parts.append(paragraph("The resolved configs are the same (besides output and run id)."))
    if c.a.manifest.input_fingerprint != c.b.manifest.input_fingerprint:
        parts.append(paragraph("The runs read different input (their input fingerprints differ).", "down"))
    return Section("runs", "Runs", parts)


def _show(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def _retention(c: Comparison) -> Section:
    pairs = stage_pairs(c)
    bars = [
        Bar(p.stage, [100 * (p.retention(p.a) or 0), 100 * (p.retention(p.b) or 0)], note=_points(p.change))
        for p in pairs
    ]
    parts = [
        figure(
            bar_chart(bars, ["A", "B"], "retention per stage", "retention"),
            "Share of its input each stage kept (did not flag), in %, A and B; the note is B - A.",
        )
    ]
    rows = []
    for p in pairs:
        rows.append(
            [
                p.stage,
                _get(p.a, "docs_in"),
                _get(p.b, "docs_in"),
                _share(p.retention(p.a)),
                _share(p.retention(p.b)),
                _change_cell(p.change),
                _get(p.a, "docs_out"),
                _get(p.b, "docs_out"),
                _get(p.a, "words_out"),
                _get(p.b, "words_out"),
            ]
        )
    headers = ["stage", "in A", "in B", "retention A", "retention B", "change", "out A", "out B"]
    parts.append(table([*headers, "tokens out A", "tokens out B"], rows, "retention"))
    return Section("retention", "Retention per stage", parts)


def _get(s: StageStats | None, key: str) -> Any:
    return None if s is None else getattr(s, key)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _points(change: float | None) -> str:
    return "" if change is None else f"{100 * change:+.1f} pp"


def _change_cell(change: float | None) -> Raw:
    if change is None:
        return Raw("-")
    css = "up" if change > 0 else "down" if change < 0 else ""
    return Raw(f'<span class="{css}">{_points(change)}</span>')


def _reasons(c: Comparison) -> Section:
    changes = reason_changes(c)
    if not changes:
        return Section("reasons", "Reasons that moved", [paragraph("Every reason has the same count in both runs.")])
    rows = [[stage, reason, a, b, f"{b - a:+,}"] for stage, reason, a, b in changes]
    bars = [Bar(f"{stage}: {reason}", [a, b], note=f"{b - a:+,}") for stage, reason, a, b in changes[:20]]
    return Section(
        "reasons",
        "Reasons that moved",
        [
            figure(bar_chart(bars, ["A", "B"], "reasons that moved", "reason-changes"), "Documents per reason"),
            table(["stage", "reason", "A", "B", "change"], rows, "reason-changes"),
        ],
    )


def _moved(c: Comparison) -> Section:
    if not c.movements:
        return Section("moved", "Documents that moved", [paragraph("A run has no kept/ table to compare.")])
    moved = c.moved()
    total = sum(m.count for m in c.movements)
    same = total - sum(m.count for m in moved)
    parts = [
        paragraph(
            f"{total:,} documents in either run; {same:,} have the same outcome in both, "
            f"{sum(m.count for m in moved):,} moved."
        ),
        table(
            ["outcome in A", "outcome in B", "documents"],
            [[m.before.describe(), m.after.describe(), m.count] for m in c.movements],
            "movements",
        ),
    ]
    for m in moved[:MAX_MOVEMENT_GROUPS]:
        parts.append(heading(f"{m.before.describe()} in A → {m.after.describe()} in B ({m.count:,})"))
        rows = [[e.doc_id, e.chars, document_text(e.snippet, e.chars)] for e in m.examples]
        parts.append(table(["doc_id", "chars", "beginning of the text (B's, else A's)"], rows, "moved-examples"))
    return Section("moved", "Documents that moved", parts)


def _timings(c: Comparison) -> Section:
    rows = [
        [
            p.stage,
            _get(p.a, "wall_seconds"),
            _get(p.b, "wall_seconds"),
            _get(p.a, "docs_per_second"),
            _get(p.b, "docs_per_second"),
        ]
        for p in stage_pairs(c)
    ]
    return Section(
        "timings", "Timings", [table(["stage", "wall s A", "wall s B", "docs/s A", "docs/s B"], rows, "timings")]
    )


def summary_lines(c: Comparison, path: str) -> list[str]:
    """The comparison in a terminal: retention per stage, the reasons that moved most, the moved documents."""
    lines = [f"A {c.a.run_id}: {_totals(c.a)}", f"B {c.b.run_id}: {_totals(c.b)}"]
    for key, a, b in config_changes(c):
        lines.append(f"  config {key}: {_show(a)} -> {_show(b)}")
    lines.append(f"\n{'stage':<22}{'retention A':>13}{'retention B':>13}{'change':>11}")
    for p in stage_pairs(c):
        lines.append(
            f"{p.stage:<22}{_share(p.retention(p.a)):>13}{_share(p.retention(p.b)):>13}{_points(p.change):>11}"
        )
    changes = reason_changes(c)
    if changes:
        lines.append("\nreasons that moved most:")
        lines += [f"  {s}: {r}  {a:,} -> {b:,} ({b - a:+,})" for s, r, a, b in changes[:8]]
    moved = c.moved()
    if moved:
        lines.append(f"\ndocuments that moved ({sum(m.count for m in moved):,}):")
        lines += [f"  {m.before.describe()} -> {m.after.describe()}: {m.count:,}" for m in moved[:8]]
    lines.append(f"\ncomparison: {path}")
    return lines
