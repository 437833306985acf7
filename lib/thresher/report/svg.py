"""Inline SVG charts for the report: horizontal bars and histograms with thresholds.

Every text that reaches the SVG goes through `esc`; every bar carries a <title> with its exact numbers (shown
on hover), so the charts stay readable without any script.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

KEPT_COLOR = "#2f6db5"
DROPPED_COLOR = "#e8833a"
BACKGROUND_COLOR = "#d5e3f3"
THRESHOLD_COLOR = "#c0392b"
AXIS_COLOR = "#666"
# Series colours of grouped bars (run A, run B, ...).
SERIES_COLORS = ("#2f6db5", "#e8833a", "#4a9d5b", "#8e6bbf")
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def fmt(value: float) -> str:
    """A number as a short label: 1234 -> 1,234; 12345678 -> 12.3M; 0.0123 -> 0.0123."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 10_000_000:
        return f"{value / 1_000_000:.1f}M"
    if magnitude >= 100_000:
        return f"{value / 1000:.0f}k"
    if float(value).is_integer():
        return f"{int(value):,}"
    if magnitude >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _svg(width: int, height: int, label: str, body: list[str], kind: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{esc(kind)}" role="img" '
        f'aria-label="{esc(label)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT}>'
        + "".join(body)
        + "</svg>"
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


@dataclass(frozen=True)
class Bar:
    """One row of a horizontal bar chart: a value per series, and an optional background value (e.g. the
    documents that went in, behind the documents that came out)."""

    label: str
    values: Sequence[float]
    background: float | None = None
    note: str = ""


def bar_chart(bars: Sequence[Bar], series: Sequence[str], label: str, kind: str = "bars", width: int = 640) -> str:
    """Horizontal bars, one row per `Bar`; several series are drawn side by side within a row."""
    label_width, value_width, row, gap = 170, 150, 18 * max(1, len(series)), 6
    plot = width - label_width - value_width
    top = 20 if len(series) > 1 else 4
    height = top + len(bars) * (row + gap) + 4
    peak = max([v for b in bars for v in b.values] + [b.background or 0 for b in bars] + [1])
    body = []
    if len(series) > 1:
        for i, name in enumerate(series):
            x = label_width + i * 120
            body.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{SERIES_COLORS[i % 4]}"/>')
            body.append(f'<text x="{x + 14}" y="13">{esc(_shorten(name, 16))}</text>')
    for index, bar in enumerate(bars):
        y = top + index * (row + gap)
        body.append(
            f'<text x="{label_width - 6}" y="{y + row / 2 + 4}" text-anchor="end">'
            f"<title>{esc(bar.label)}</title>{esc(_shorten(bar.label, 26))}</text>"
        )
        if bar.background is not None:
            w = plot * bar.background / peak
            body.append(
                f'<rect x="{label_width}" y="{y}" width="{w:.1f}" height="{row}" fill="{BACKGROUND_COLOR}">'
                f"<title>{esc(bar.label)}: {fmt(bar.background)} in</title></rect>"
            )
        height_each = row / len(bar.values)
        for i, value in enumerate(bar.values):
            w = plot * value / peak
            color = SERIES_COLORS[i % 4] if len(series) > 1 else KEPT_COLOR
            body.append(
                f'<rect class="bar" x="{label_width}" y="{y + i * height_each:.1f}" width="{w:.1f}" '
                f'height="{height_each - (1 if len(series) > 1 else 0):.1f}" fill="{color}">'
                f"<title>{esc(bar.label)} ({esc(series[i])}): {fmt(value)}</title></rect>"
            )
        text = " / ".join(fmt(v) for v in bar.values) + (f"  {bar.note}" if bar.note else "")
        x = label_width + plot * max([*bar.values, bar.background or 0]) / peak + 4
        body.append(f'<text x="{x:.1f}" y="{y + row / 2 + 4}">{esc(text)}</text>')
    return _svg(width, height, label, body, kind)


@dataclass(frozen=True)
class Histogram:
    """Counts per bin (`edges` as in thresher.signal_bins.Bins) and how many of them the stage kept."""

    edges: Sequence[float]
    counts: Sequence[int]
    kept: Sequence[int]
    below: tuple[int, int] = (0, 0)
    above: tuple[int, int] = (0, 0)
    scale: str = "linear"
    thresholds: Sequence[tuple[str, float]] = ()


def histogram_chart(h: Histogram, label: str, removed_name: str = "removed", width: int = 520) -> str:
    """Stacked bars (kept below, removed above) with the thresholds drawn as dashed lines.

    Bins are drawn with equal widths, which is the data's own scale: even bins on a linear scale, geometric
    ones on a log scale. Values below the first or above the last edge get a bar of their own at either end.
    """
    left, right, top, bottom = 44, 12, 18, 42
    outliers = [(f"< {fmt(h.edges[0])}", *h.below)] if h.below[0] else []
    outliers_right = [(f"> {fmt(h.edges[-1])}", *h.above)] if h.above[0] else []
    slots = len(outliers) + len(h.counts) + len(outliers_right)
    plot_w, plot_h = width - left - right, 150
    slot = plot_w / (slots + 0.6 * (bool(outliers) + bool(outliers_right)))
    peak = max([*h.counts, h.below[0], h.above[0], 1])
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{AXIS_COLOR}"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{fmt(peak)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
        f'<line x1="{left}" y1="{top + plot_h / 2}" x2="{width - right}" y2="{top + plot_h / 2}" stroke="#eee"/>',
    ]

    def bar(x: float, name: str, count: int, kept: int) -> None:
        kept_h = plot_h * kept / peak
        removed_h = plot_h * (count - kept) / peak
        tip = f"<title>{esc(name)}: {count:,} documents, {kept:,} kept</title>"
        body.append(
            f'<rect class="bar" x="{x + 0.5:.1f}" y="{top + plot_h - kept_h:.1f}" width="{max(slot - 1, 0.5):.1f}" '
            f'height="{kept_h:.1f}" fill="{KEPT_COLOR}">{tip}</rect>'
        )
        if count > kept:
            body.append(
                f'<rect class="bar" x="{x + 0.5:.1f}" y="{top + plot_h - kept_h - removed_h:.1f}" '
                f'width="{max(slot - 1, 0.5):.1f}" height="{removed_h:.1f}" fill="{DROPPED_COLOR}">{tip}</rect>'
            )

    x = float(left)
    for name, count, kept in outliers:
        bar(x, name, count, kept)
        body.append(_tick(x + slot / 2, top + plot_h, name, line=2))
        x += slot * 1.6
    first_bin_x = x
    for i, (count, kept) in enumerate(zip(h.counts, h.kept, strict=True)):
        bar(x + i * slot, f"[{fmt(h.edges[i])}, {fmt(h.edges[i + 1])})", count, kept)
    ticks = _tick_indices(len(h.edges))
    for i in ticks:
        body.append(_tick(first_bin_x + i * slot, top + plot_h, fmt(h.edges[i])))
    x = first_bin_x + len(h.counts) * slot + slot * 0.6
    for name, count, kept in outliers_right:
        bar(x, name, count, kept)
        body.append(_tick(x + slot / 2, top + plot_h, name, line=2, anchor="end"))
    for name, value in h.thresholds:
        position = _position(h.edges, value, h.scale)
        if position is None:
            continue
        tx = first_bin_x + position * slot
        body.append(
            f'<line class="threshold" x1="{tx:.1f}" y1="{top - 6}" x2="{tx:.1f}" y2="{top + plot_h}" '
            f'stroke="{THRESHOLD_COLOR}" stroke-width="1.5" stroke-dasharray="4 3">'
            f"<title>{esc(name)} = {fmt(value)}</title></line>"
        )
        anchor, offset = ("end", -3) if tx > width * 0.75 else ("start", 3)
        body.append(
            f'<text x="{tx + offset:.1f}" y="{top - 8}" text-anchor="{anchor}" fill="{THRESHOLD_COLOR}">'
            f"{esc(name)} {esc(fmt(value))}</text>"
        )
    legend_y = top + plot_h + 38
    body.append(f'<rect x="{left}" y="{legend_y - 8}" width="9" height="9" fill="{KEPT_COLOR}"/>')
    body.append(f'<text x="{left + 12}" y="{legend_y}">kept</text>')
    body.append(f'<rect x="{left + 50}" y="{legend_y - 8}" width="9" height="9" fill="{DROPPED_COLOR}"/>')
    body.append(f'<text x="{left + 62}" y="{legend_y}">{esc(removed_name)}</text>')
    if h.scale == "log":
        body.append(f'<text x="{width - right}" y="{legend_y}" text-anchor="end">log scale</text>')
    return _svg(width, top + plot_h + bottom + 4, label, body, "histogram")


def _tick(x: float, y: float, text: str, line: int = 1, anchor: str = "middle") -> str:
    """A tick on the x axis with its label on the first line under the axis (edges) or the second (outliers)."""
    return (
        f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4 + 11 * (line - 1)}" stroke="{AXIS_COLOR}"/>'
        f'<text x="{x:.1f}" y="{y + 4 + 11 * line}" text-anchor="{anchor}" fill="{AXIS_COLOR}">{esc(text)}</text>'
    )


def _tick_indices(edge_count: int, most: int = 6) -> list[int]:
    if edge_count <= most:
        return list(range(edge_count))
    step = (edge_count - 1) / (most - 1)
    return sorted({round(i * step) for i in range(most)})


def _position(edges: Sequence[float], value: float, scale: str) -> float | None:
    """Where `value` falls, in bins from the first edge (fractions within a bin), or None outside them."""
    if not edges[0] <= value <= edges[-1]:
        return None
    for i in range(len(edges) - 1):
        low, high = edges[i], edges[i + 1]
        if value <= high:
            if scale == "log" and low > 0:
                return i + math.log(value / low) / math.log(high / low)
            return i + (value - low) / (high - low)
    return float(len(edges) - 1)
