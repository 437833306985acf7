"""Fixed bins for the histogram of a numeric signal, chosen from its quantiles and configured thresholds.

The bins cover the bulk of the data (1st to 99th percentile, widened to the minimum or maximum when those are
close, and to every configured threshold that falls inside the data); values outside land in `below`/`above`
counts so the histogram still adds up to every value. Signals spanning orders of magnitude (lengths, counts)
get geometric bins, integer signals integer-aligned ones. Each threshold inside the bins becomes a bin edge,
so the bars on either side of a drawn threshold count exactly the documents on either side of it.

Spark-free: the stats job computes quantiles first, then counts values into these bins.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

MAX_BINS = 40
# A range whose high end is this many times its low end is drawn on a log scale.
LOG_RATIO = 100.0
# Outliers this close to the 1%..99% range (as a share of it) are taken into the bins instead of below/above.
CLOSE_OUTLIERS = 0.1

Scale = Literal["linear", "log"]


@dataclass(frozen=True)
class Bins:
    """Bin i is [edges[i], edges[i+1]); the last bin also holds edges[-1]."""

    edges: tuple[float, ...]
    scale: Scale

    @property
    def count(self) -> int:
        return len(self.edges) - 1


def choose_bins(
    quantiles: Mapping[float, float],
    integral: bool,
    thresholds: Iterable[float | None] = (),
    max_bins: int = MAX_BINS,
) -> Bins:
    """Bins for a signal with these quantiles (keys 0.0, 0.01, 0.99 and 1.0 are used)."""
    minimum, maximum = quantiles[0.0], quantiles[1.0]
    low, high = quantiles[0.01], quantiles[0.99]
    spread = high - low
    if low - minimum <= CLOSE_OUTLIERS * spread:
        low = minimum
    if maximum - high <= CLOSE_OUTLIERS * spread:
        high = maximum
    if integral and maximum - minimum < max_bins:
        low, high = minimum, maximum
    cuts = sorted({float(t) for t in thresholds if t is not None and minimum <= t <= maximum})
    if cuts:
        low, high = min(low, cuts[0]), max(high, cuts[-1])
    if integral:
        low, high = math.floor(low), math.floor(high)
        bins = _integer_bins(low, high, max_bins)
    else:
        bins = _float_bins(low, high, max_bins)
    return _with_edges(bins, cuts)


def _integer_bins(low: int, high: int, max_bins: int) -> Bins:
    if high >= LOG_RATIO * max(low, 1) and low >= 0 and high - low + 1 > max_bins:
        start = max(low, 1)
        steps = max_bins - (1 if low == 0 else 0)
        geometric = {round(start * ((high + 1) / start) ** (i / steps)) for i in range(steps + 1)}
        edges = sorted(geometric | ({0} if low == 0 else set()))
        return Bins(tuple(float(e) for e in edges), "log")
    width = max(1, math.ceil((high + 1 - low) / max_bins))
    count = math.ceil((high + 1 - low) / width)
    return Bins(tuple(float(low + i * width) for i in range(count + 1)), "linear")


def _float_bins(low: float, high: float, max_bins: int) -> Bins:
    if high <= low:
        half = 0.5 if low == 0 else abs(low) * 0.05
        return Bins((low - half, low + half), "linear")
    # Shares and probabilities (at most 1) read best on a linear scale, however small their low end.
    if low > 0 and high >= LOG_RATIO * low and high > 1:
        ratio = high / low
        return Bins((*(_tidy(low * ratio ** (i / max_bins)) for i in range(max_bins)), high), "log")
    width = (high - low) / max_bins
    return Bins((*(_tidy(low + i * width) for i in range(max_bins)), high), "linear")


def _tidy(edge: float) -> float:
    """Drop float noise (0.23750000000000002) from computed edges."""
    return float(f"{edge:.12g}")


def _with_edges(bins: Bins, cuts: list[float]) -> Bins:
    """Move the nearest inner edge onto each threshold, so bins stay about even; a threshold whose nearest
    edge already holds another one is inserted as an edge of its own."""
    edges = list(bins.edges)
    # Inner edges and thresholds are > 0 on a log scale (the first edge is >= 0).
    distance = (lambda a, b: abs(math.log(a / b))) if bins.scale == "log" else (lambda a, b: abs(a - b))
    placed: set[float] = set()
    for cut in cuts:
        if not edges[0] < cut < edges[-1] or cut in edges:
            continue
        free = [i for i in range(1, len(edges) - 1) if edges[i] not in placed]
        nearest = min(free, key=lambda i: distance(edges[i], cut), default=None)
        if nearest is not None and edges[nearest - 1] < cut < edges[nearest + 1]:
            edges[nearest] = cut
        else:
            edges = sorted([*edges, cut])
        placed.add(cut)
    return Bins(tuple(edges), bins.scale)
