"""`gopher_repetition` and `gopher_quality`: the Gopher rules (Rae et al. 2021, table A1 and section A.1.1),
with the published thresholds as defaults and the reference's definitions (datatrove) of words, lines and
paragraphs. A null or zero threshold turns its rule off."""

from __future__ import annotations

import re
from typing import Annotated, Any

import numpy as np
from pydantic import Field, field_validator
from pyspark.sql.types import DoubleType, LongType, StructField

from thresher.stages.quality._heuristic import HeuristicStage, above, below
from thresher.stages.quality._language import PerLanguageParams
from thresher.stages.registry import register
from thresher.text.analysis import DocAnalysis
from thresher.text.chars import HAS_ALPHA, NOT_SYMBOL
from thresher.text.repetition import duplicate_elements, ngram_repetition
from thresher.text.words import WordSplitter

# A share of a document's characters: values outside [0, 1] would drop every document or disable the rule.
Fraction = Annotated[float, Field(ge=0, le=1)]
_PARAGRAPH_BREAK = re.compile(r"\n{2,}")


class GopherRepetitionParams(PerLanguageParams):
    dup_line_frac: float | None = Field(
        default=0.3, ge=0, description="Largest fraction of lines that duplicate an earlier line."
    )
    dup_para_frac: float | None = Field(
        default=0.3, ge=0, description="Largest fraction of paragraphs that duplicate an earlier paragraph."
    )
    dup_line_char_frac: float | None = Field(
        default=0.2, ge=0, description="Largest fraction of characters in duplicated lines."
    )
    dup_para_char_frac: float | None = Field(
        default=0.2, ge=0, description="Largest fraction of characters in duplicated paragraphs."
    )
    # n -> largest fraction of characters covered by the most frequent n-gram.
    top_n_grams: dict[int, Fraction] = Field(default_factory=lambda: {2: 0.2, 3: 0.18, 4: 0.16})
    # n -> largest fraction of characters in n-grams that repeat an earlier one.
    dup_n_grams: dict[int, Fraction] = Field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    )

    @field_validator("top_n_grams", "dup_n_grams")
    @classmethod
    def _n_in_range(cls, value: dict[int, float]) -> dict[int, float]:
        bad = [n for n in value if not 1 <= n <= 32]
        if bad:
            raise ValueError(f"n-gram sizes must be between 1 and 32, got {bad}")
        return dict(sorted(value.items()))


@register
class GopherRepetition(HeuristicStage):
    """Gopher repetition rules: duplicate lines / paragraphs, top and duplicated n-grams."""

    id = "gopher_repetition"
    Params = GopherRepetitionParams
    params: GopherRepetitionParams

    def __init__(self, params: GopherRepetitionParams | None = None) -> None:
        super().__init__(params)
        self._top_ns = sorted({n for sizes in self.params.values_of("top_n_grams") for n in sizes})
        self._dup_ns = sorted({n for sizes in self.params.values_of("dup_n_grams") for n in sizes})

    def signal_fields(self) -> list[StructField]:
        names = ["dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac"]
        names += [f"top_{n}_gram_char_frac" for n in self._top_ns]
        names += [f"dup_{n}_gram_char_frac" for n in self._dup_ns]
        return [StructField(name, DoubleType()) for name in names]

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        p = self.params
        bounds: dict[str, tuple[float | None, float | None]] = {
            "dup_para_frac": (None, p.dup_para_frac),
            "dup_para_char_frac": (None, p.dup_para_char_frac),
            "dup_line_frac": (None, p.dup_line_frac),
            "dup_line_char_frac": (None, p.dup_line_char_frac),
        }
        bounds |= {f"top_{n}_gram_char_frac": (None, limit) for n, limit in p.top_n_grams.items()}
        bounds |= {f"dup_{n}_gram_char_frac": (None, limit) for n, limit in p.dup_n_grams.items()}
        return bounds

    def signals(self, analysis: DocAnalysis, splitter: WordSplitter, params: Any) -> dict[str, Any]:
        text = analysis.text
        size = len(text)
        out: dict[str, Any] = {}
        if not size:
            out |= dict.fromkeys(f.name for f in self.signal_fields())
            return out
        stripped = text.strip()
        paragraphs = _PARAGRAPH_BREAK.split(stripped) if "\n\n" in stripped else [stripped]
        dups, dup_chars = duplicate_elements(paragraphs)
        out["dup_para_frac"] = dups / len(paragraphs)
        out["dup_para_char_frac"] = dup_chars / size
        lines = _split_at_line_breaks(analysis.newline_parts)
        dups, dup_chars = duplicate_elements(lines)
        out["dup_line_frac"] = dups / len(lines)
        out["dup_line_char_frac"] = dup_chars / size
        top, dup = ngram_repetition(analysis.words(splitter), self._top_ns, self._dup_ns)
        out |= {f"top_{n}_gram_char_frac": chars / size for n, chars in top.items()}
        out |= {f"dup_{n}_gram_char_frac": chars / size for n, chars in dup.items()}
        return out

    def decide(self, signals: dict[str, Any], params: Any) -> str | None:
        p: GopherRepetitionParams = params
        if signals["dup_para_frac"] is None:
            return "empty"
        for name, limit in (
            ("dup_para_frac", p.dup_para_frac),
            ("dup_para_char_frac", p.dup_para_char_frac),
            ("dup_line_frac", p.dup_line_frac),
            ("dup_line_char_frac", p.dup_line_char_frac),
        ):
            if above(signals[name], limit):
                return name
        for n, limit in p.top_n_grams.items():
            if above(signals[f"top_{n}_gram_char_frac"], limit):
                return f"top_{n}_gram"
        for n, limit in p.dup_n_grams.items():
            if above(signals[f"dup_{n}_gram_char_frac"], limit):
                return f"dup_{n}_gram"
        return None


def _split_at_line_breaks(parts: list[str]) -> list[str]:
    """`re.split(r"\\n+", text)` from `text.split("\\n")` (`parts`): runs of line breaks are one break, so only the
    first and last parts (before the first break, after the last) may be empty."""
    lines = [part for part in parts if part]
    if not parts[0]:
        lines.insert(0, "")
    if len(parts) > 1 and not parts[-1]:
        lines.append("")
    return lines


DEFAULT_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")


class GopherQualityParams(PerLanguageParams):
    # Bounds on the number of words that are not only punctuation.
    min_doc_words: int | None = Field(default=50, ge=0)
    max_doc_words: int | None = Field(
        default=100_000, ge=0, description="Most words a document may have (null: no bound)."
    )
    min_avg_word_length: float | None = Field(
        default=3, ge=0, description="Smallest mean word length in characters (null: no bound)."
    )
    max_avg_word_length: float | None = Field(
        default=10, ge=0, description="Largest mean word length in characters (null: no bound)."
    )
    # Largest number of '#' per word, and of ellipses per word.
    max_symbol_word_ratio: float | None = Field(default=0.1, ge=0)
    max_bullet_lines_ratio: float | None = Field(
        default=0.9, ge=0, description="Largest fraction of lines starting with a bullet point."
    )
    max_ellipsis_lines_ratio: float | None = Field(
        default=0.3, ge=0, description="Largest fraction of lines ending with an ellipsis."
    )
    # Smallest fraction of words with at least one letter.
    min_alpha_words_ratio: float | None = Field(default=0.8, ge=0)
    # Smallest number of distinct stop words present (matched case-sensitively, as whole words).
    min_stop_words: int | None = Field(default=2, ge=0)
    stop_words: list[str] = Field(
        default_factory=lambda: list(DEFAULT_STOP_WORDS),
        description="A document needs at least `min_stop_words` of these words.",
    )


# (signal, comparison, parameter, reason) in the order the reference applies them; the first that fires decides.
_QUALITY_RULES = (
    ("non_symbol_words", below, "min_doc_words", "too_few_words"),
    ("non_symbol_words", above, "max_doc_words", "too_many_words"),
    ("mean_word_length", below, "min_avg_word_length", "short_mean_word_length"),
    ("mean_word_length", above, "max_avg_word_length", "long_mean_word_length"),
    ("hash_word_ratio", above, "max_symbol_word_ratio", "too_many_hashes"),
    ("ellipsis_word_ratio", above, "max_symbol_word_ratio", "too_many_ellipses"),
    ("bullet_lines_frac", above, "max_bullet_lines_ratio", "too_many_bullet_lines"),
    ("ellipsis_lines_frac", above, "max_ellipsis_lines_ratio", "too_many_ellipsis_lines"),
    ("alpha_words_frac", below, "min_alpha_words_ratio", "too_few_alpha_words"),
    ("stop_words", below, "min_stop_words", "too_few_stop_words"),
)
_BULLETS = ("•", "-")


_ELLIPSES = ("...", "…")


@register
class GopherQuality(HeuristicStage):
    """Gopher quality rules: word count and length, symbols, bullet and ellipsis lines, letters, stop words."""

    id = "gopher_quality"
    Params = GopherQualityParams
    params: GopherQualityParams

    def signal_fields(self) -> list[StructField]:
        return [
            StructField("words", LongType()),
            StructField("non_symbol_words", LongType()),
            StructField("mean_word_length", DoubleType()),
            StructField("hash_word_ratio", DoubleType()),
            StructField("ellipsis_word_ratio", DoubleType()),
            StructField("bullet_lines_frac", DoubleType()),
            StructField("ellipsis_lines_frac", DoubleType()),
            StructField("alpha_words_frac", DoubleType()),
            StructField("stop_words", LongType()),
        ]

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        bounds: dict[str, tuple[float | None, float | None]] = {}
        for signal, compare, limit, _ in _QUALITY_RULES:
            low, high = bounds.get(signal, (None, None))
            value = getattr(self.params, limit)
            bounds[signal] = (value, high) if compare is below else (low, value)
        return bounds

    def signals(self, analysis: DocAnalysis, splitter: WordSplitter, params: Any) -> dict[str, Any]:
        p: GopherQualityParams = params
        text = analysis.text
        words = analysis.words(splitter)
        n = len(words)
        flags = words.flags
        not_symbol = (flags & NOT_SYMBOL) != 0
        non_symbol = int(not_symbol.sum())
        lines = analysis.lines
        line_count = len(lines)
        return {
            "words": n,
            "non_symbol_words": non_symbol,
            "mean_word_length": float(words.lengths[not_symbol].mean()) if non_symbol else None,
            "hash_word_ratio": text.count("#") / n if n else 0.0,
            "ellipsis_word_ratio": (text.count("...") + text.count("…")) / n if n else 0.0,
            "bullet_lines_frac": sum(line.lstrip().startswith(_BULLETS) for line in lines) / line_count
            if line_count
            else 0.0,
            "ellipsis_lines_frac": sum(line.rstrip().endswith(_ELLIPSES) for line in lines) / line_count
            if line_count
            else 0.0,
            "alpha_words_frac": int(np.count_nonzero(flags & HAS_ALPHA)) / n if n else 0.0,
            "stop_words": words.count_present(p.stop_words),
        }

    def decide(self, signals: dict[str, Any], params: Any) -> str | None:
        for signal, compare, limit, reason in _QUALITY_RULES:
            if compare(signals[signal], getattr(params, limit)):
                return reason
        return None
