"""Per-language thresholds derived from a reference corpus, the way FineWeb-2 derived its settings (Penedo et al.
2025): from each language's own distribution of each signal on reference text.

- Language ID score: max(0.3, min(0.9, median - standard deviation)) of the language's scores (FineWeb-2's rule).
- Rule thresholds: each rule keeps the same share of a language's reference documents as the English threshold
  keeps of English reference documents (`english_rate`, when the reference has English text), else keeps
  `1 - tail` of them (`tail`): an upper bound is the language's (1 - rate) quantile, a lower bound its rate quantile.
- Stop words: the words found in the most reference documents of the language (FineWeb-2: frequent words).
- A threshold that comes out as 0 is left out (0 turns a rule off; the stage keeps its own value).

The inputs are plain per-language arrays (the Spark job in `thresher.commands.calibrate` collects them), so this
module is Spark-free and unit-tested on its own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from thresher.stages.quality._presets import LanguageSettings

# Setting name -> (signal column, bound kind, English threshold), as `LanguageSettings` names them.
RULES: dict[str, tuple[str, str, float]] = {
    "dup_line_frac": ("gopher_repetition.dup_line_frac", "upper", 0.3),
    "top_2_gram": ("gopher_repetition.top_2_gram_char_frac", "upper", 0.2),
    "top_3_gram": ("gopher_repetition.top_3_gram_char_frac", "upper", 0.18),
    "top_4_gram": ("gopher_repetition.top_4_gram_char_frac", "upper", 0.16),
    **{
        f"dup_{n}_gram": (f"gopher_repetition.dup_{n}_gram_char_frac", "upper", limit)
        for n, limit in zip(range(5, 11), (0.15, 0.14, 0.13, 0.12, 0.11, 0.10), strict=True)
    },
    "line_punct_thr": ("fineweb_quality.line_punct_ratio", "lower", 0.12),
    "new_line_ratio": ("fineweb_quality.newline_ratio", "upper", 0.3),
    "min_avg_word_length": ("gopher_quality.mean_word_length", "lower", 3.0),
    "max_avg_word_length": ("gopher_quality.mean_word_length", "upper", 10.0),
    "max_non_alpha_words_ratio": ("gopher_quality.alpha_words_frac", "lower", 0.8),
}
LANGUAGE_SCORE = "language.score"
METHODS = ("english_rate", "tail")


@dataclass
class LanguageSample:
    """One language's reference signals: signal column -> values (one per document), and document frequencies."""

    documents: int
    signals: dict[str, np.ndarray]
    word_documents: Counter = field(default_factory=Counter)


def _quantile(values: np.ndarray, q: float) -> float | None:
    finite = values[np.isfinite(values)]
    return float(np.quantile(finite, q)) if finite.size else None


def keep_rates(english: LanguageSample | None, tail: float) -> dict[str, float]:
    """Per setting, the share of documents a threshold keeps: English's share under the English thresholds, else
    `1 - tail`."""
    rates = {}
    for name, (column, bound, limit) in RULES.items():
        values = english.signals.get(column) if english is not None else None
        finite = values[np.isfinite(values)] if values is not None else np.array([])
        if finite.size:
            kept = finite <= limit if bound == "upper" else finite >= limit
            rates[name] = float(np.clip(kept.mean(), 0.5, 0.999))
        else:
            rates[name] = 1 - tail
    return rates


def language_threshold(scores: np.ndarray) -> float | None:
    finite = scores[np.isfinite(scores)]
    if not finite.size:
        return None
    return round(float(max(0.3, min(0.9, np.median(finite) - np.std(finite)))), 3)


def calibrate(
    samples: dict[str, LanguageSample],
    method: str = "english_rate",
    tail: float = 0.1,
    min_documents: int = 20,
    stop_words: int = 20,
) -> tuple[LanguageSettings, dict[str, Any]]:
    """Settings per `lang_Script` key of `samples` (languages with at least `min_documents`), and a report of each
    language's distributions (quantiles per signal) and the rates used."""
    if method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r}; allowed: {', '.join(METHODS)}")
    english = samples.get("eng_Latn") if method == "english_rate" else None
    rates = keep_rates(english, tail)
    values: dict[str, dict[str, Any]] = {}
    words: dict[str, list[str]] = {}
    report: dict[str, Any] = {"method": method, "keep_rates": rates, "languages": {}}
    for key, sample in sorted(samples.items()):
        entry: dict[str, Any] = {}
        distribution: dict[str, Any] = {"documents": sample.documents}
        if sample.documents < min_documents:
            distribution["skipped"] = f"fewer than {min_documents} documents"
            report["languages"][key] = distribution
            continue
        score = language_threshold(sample.signals.get(LANGUAGE_SCORE, np.array([])))
        if score is not None:
            entry["language_score"] = score
        for name, (column, bound, _) in RULES.items():
            column_values = sample.signals.get(column)
            if column_values is None:
                continue
            q = 1 - rates[name] if bound == "lower" else rates[name]
            found = _quantile(column_values, q)
            # 0 turns a rule off: a reference that never shows the signal (clean text has no repeated lines) says
            # nothing about its threshold, so the stage keeps its own.
            if found is not None and round(found, 3) > 0:
                entry[name] = round(found, 3)
        for column, column_values in sample.signals.items():
            quantiles = [_quantile(column_values, q) for q in (0.05, 0.25, 0.5, 0.75, 0.95)]
            distribution[column] = [None if v is None else round(v, 4) for v in quantiles]
        values[key] = entry
        common = [w for w, n in sample.word_documents.most_common(stop_words) if n >= 0.2 * sample.documents]
        if common:
            words[key] = common
        distribution["settings"] = entry
        distribution["stop_words"] = common
        report["languages"][key] = distribution
    settings = LanguageSettings(
        name="calibrated",
        source=f"thresher calibrate ({method}); thresholds from each language's reference distributions",
        values=values,
        stop_words=words,
        aliases={key.split("_")[0]: key for key in sorted(values)},
    )
    return settings, report
