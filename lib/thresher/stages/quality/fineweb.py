"""`fineweb_quality`: the rules FineWeb (Penedo et al. 2024) added to the Gopher and C4 ones, with its
thresholds as defaults: too few lines ending in punctuation, too many short lines, too many characters in
duplicated lines, too many line breaks per word (lists)."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pyspark.sql.types import DoubleType, LongType, StructField

from thresher.stages.quality._heuristic import HeuristicStage
from thresher.stages.quality._language import PerLanguageParams
from thresher.stages.registry import register
from thresher.text.analysis import DocAnalysis
from thresher.text.chars import SENTENCE_TERMINALS
from thresher.text.repetition import duplicate_elements
from thresher.text.words import WordSplitter

_DEFAULT_STOP_CHARS = tuple(sorted(SENTENCE_TERMINALS))


class FineWebQualityParams(PerLanguageParams):
    # Smallest fraction of non-blank lines ending with one of `stop_chars` (default: sentence terminals).
    line_punct_thr: float = Field(default=0.12, ge=0, le=1)
    # Do not apply the rule above to documents where no line ends with punctuation.
    line_punct_exclude_zero: bool = False
    stop_chars: list[str] | None = Field(
        default=None,
        description="Characters that end a line for `line_punct_thr` (null: the sentence terminals of the reference).",
    )
    # Largest fraction of non-blank lines of at most `short_line_length` characters.
    short_line_thr: float = Field(default=0.67, ge=0, le=1)
    short_line_length: int = Field(
        default=30, ge=0, description="Lines of at most this many characters are short (for `short_line_thr`)."
    )
    # Largest fraction of characters (line breaks not counted) in lines that repeat an earlier line.
    char_duplicates_ratio: float = Field(default=0.01, ge=0)
    # Largest number of line breaks per word.
    new_line_ratio: float = Field(default=0.3, ge=0)


@register
class FineWebQuality(HeuristicStage):
    """FineWeb rules: line punctuation, short lines, duplicated line characters, line breaks per word."""

    id = "fineweb_quality"
    Params = FineWebQualityParams
    params: FineWebQualityParams

    def signal_fields(self) -> list[StructField]:
        return [
            StructField("lines", LongType()),
            StructField("line_punct_ratio", DoubleType()),
            StructField("short_line_ratio", DoubleType()),
            StructField("char_dup_ratio", DoubleType()),
            StructField("newline_ratio", DoubleType()),
        ]

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        p = self.params
        return {
            "line_punct_ratio": (p.line_punct_thr, None),
            "short_line_ratio": (None, p.short_line_thr),
            "char_dup_ratio": (None, p.char_duplicates_ratio),
            "newline_ratio": (None, p.new_line_ratio),
        }

    def signals(self, analysis: DocAnalysis, splitter: WordSplitter, params: Any) -> dict[str, Any]:
        p: FineWebQualityParams = params
        text = analysis.text
        lines = [line for line in analysis.newline_parts if line.strip()]
        if not lines:
            return {
                "lines": 0,
                "line_punct_ratio": None,
                "short_line_ratio": None,
                "char_dup_ratio": None,
                "newline_ratio": None,
            }
        stop_chars = tuple(p.stop_chars) if p.stop_chars is not None else _DEFAULT_STOP_CHARS
        count = len(lines)
        words = len(analysis.words(splitter))
        newlines = len(analysis.newline_parts) - 1
        return {
            "lines": count,
            "line_punct_ratio": sum(line.endswith(stop_chars) for line in lines) / count,
            "short_line_ratio": sum(len(line) <= p.short_line_length for line in lines) / count,
            "char_dup_ratio": duplicate_elements(lines)[1] / (len(text) - newlines),
            "newline_ratio": newlines / words if words else 0.0,
        }

    def decide(self, signals: dict[str, Any], params: Any) -> str | None:
        p: FineWebQualityParams = params
        if not signals["lines"]:
            return "empty"
        ratio = signals["line_punct_ratio"]
        if ratio < p.line_punct_thr and not (ratio == 0 and p.line_punct_exclude_zero):
            return "line_punct_ratio"
        if signals["short_line_ratio"] > p.short_line_thr:
            return "short_line_ratio"
        if signals["char_dup_ratio"] > p.char_duplicates_ratio:
            return "char_dup_ratio"
        if signals["newline_ratio"] > p.new_line_ratio:
            return "list_ratio"
        return None
