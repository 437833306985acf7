"""Rehydration (FineWeb-2): how many times to repeat a kept document, from the size of its duplicate cluster.

FineWeb-2 (Penedo et al. 2025, arXiv:2506.20920, github.com/huggingface/fineweb-2) measured, per language, the
share of documents that its filters removed among the kept members of near-duplicate clusters of each size.
Cluster sizes whose filtering rate is at or above the language's global rate are not upsampled (1 copy); the size
with the lowest rate gets `max_repeat` copies; sizes in between are interpolated linearly, smoothed over 5 sizes
and rounded (`weights_from_rates`). The result is a step table, cluster size -> copies, written compactly as the
first size of each run of equal values (`{1: 1, 2: 3, 17: 10, 145: 1}`: sizes 2-16 get 3 copies ...).

FineWeb-2's published tables (per `lang_Script`, for `max_repeat` 3 to 10) ship as the `fineweb2` rehydration
preset (ODC-By 1.0: see `PRESET_SOURCE`).
"""

from __future__ import annotations

import bisect
import gzip
import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

PRESET_FILE = Path(str(files("thresher") / "resources" / "presets" / "fineweb2_rehydration.json.gz"))
PRESET_MAX_REPEATS = range(3, 11)
PRESET_SOURCE = (
    "Upsampling weights of FineWeb 2 (Penedo et al. 2025, 'FineWeb2: One Pipeline to Scale Them All', "
    "arXiv:2506.20920), rehydration/weights/up_to_NN_reps.json of huggingface/fineweb-2, licensed ODC-By 1.0 "
    "(opendatacommons.org/licenses/by/1-0); converted by thresher's bench/fineweb2_rehydration.py."
)

# Cluster size (first of a run) -> number of copies; sizes below the first key get 1.
RepeatTable = Mapping[int, int]


class StepTable:
    """A repeat table as sorted step boundaries: `repeat(size)` is the value of the largest key <= size."""

    def __init__(self, table: RepeatTable) -> None:
        check_table(table)
        items = sorted((int(k), int(v)) for k, v in table.items())
        self.sizes = [k for k, _ in items]
        self.repeats = [v for _, v in items]

    def repeat(self, cluster_size: int | None) -> int:
        """Copies of a document whose cluster has `cluster_size` members (itself included; null or < 1: 1)."""
        if cluster_size is None or cluster_size < 1 or not self.sizes:
            return 1
        at = bisect.bisect_right(self.sizes, cluster_size) - 1
        return self.repeats[at] if at >= 0 else 1


def check_table(table: RepeatTable) -> None:
    """Refuse a table a user could not have meant: sizes below 1, copies below 1."""
    for size, copies in table.items():
        if int(size) < 1:
            raise ValueError(
                f"cluster size {size} in a repeat table: sizes start at 1 (a document without duplicates)"
            )
        if int(copies) < 1:
            raise ValueError(f"cluster size {size}: {copies} copies; a kept document is written at least once")


def weights_from_rates(
    sizes: Sequence[int],
    removal_rates: Sequence[float],
    global_rate: float,
    max_repeat: int,
    window: int = 5,
) -> dict[int, int]:
    """FineWeb-2's repeat table from the filtering rate per cluster size (same units as `global_rate`).

    Sizes at or above the global rate get 1 copy, the size with the lowest rate `max_repeat`, the others a linear
    interpolation; then a moving average over `window` sizes (the edges keep their own value) and rounding
    half to even, as numpy does. Returned compactly: the first size of each run of equal values.
    """
    if len(sizes) != len(removal_rates) or not len(sizes):
        raise ValueError("sizes and removal_rates: one rate per cluster size, at least one size")
    rates = np.asarray(removal_rates, dtype=np.float64)
    reps = np.ones_like(rates)
    below = rates < global_rate
    lowest = float(rates.min())
    if below.any():
        reps[below] = 1 + (max_repeat - 1) * (rates[below] - global_rate) / (lowest - global_rate)
    smoothed = np.convolve(reps, np.ones(window) / window, mode="same")
    half = window // 2
    if half:
        smoothed[:half] = reps[:half]
        smoothed[-half:] = reps[-half:]
    rounded = np.round(smoothed).astype(int)
    table: dict[int, int] = {}
    for i, size in enumerate(sizes):
        if i == 0 or rounded[i] != rounded[i - 1]:
            table[int(size)] = int(rounded[i])
    return table


@cache
def _preset_data() -> dict[str, dict[str, dict[str, int]]]:
    data: dict[str, Any] = json.loads(gzip.decompress(PRESET_FILE.read_bytes()))
    return data["weights"]


def preset_table(max_repeat: int, language: str) -> dict[int, int] | None:
    """FineWeb-2's published table of one `lang_Script` for up to `max_repeat` copies (3 to 10); None when FineWeb-2
    has none for that language."""
    if max_repeat not in PRESET_MAX_REPEATS:
        raise ValueError(
            f"max_repeat {max_repeat}: FineWeb-2 published weights for 3 to 10 copies; give your own `table` "
            "for other values"
        )
    table = _preset_data()[str(max_repeat)].get(language)
    return None if table is None else {int(k): int(v) for k, v in table.items()}


def preset_languages() -> list[str]:
    """The `lang_Script` codes with a published table."""
    return sorted(_preset_data()["10"])
