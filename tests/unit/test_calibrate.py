"""Per-language thresholds from reference distributions (the Spark-free part of `thresher calibrate`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from thresher.stages.quality._calibrate import LanguageSample, calibrate, keep_rates, language_threshold
from thresher.stages.quality._presets import load_settings
from thresher.stages.quality.gopher import GopherQualityParams


def _sample(rng: np.random.Generator, docs: int, shift: float = 0.0, scores: tuple[float, float] = (0.9, 0.05)):
    return LanguageSample(
        documents=docs,
        signals={
            "language.score": np.clip(rng.normal(*scores, docs), 0, 1),
            "gopher_repetition.dup_line_frac": rng.uniform(0, 0.4, docs) + shift,
            "gopher_quality.mean_word_length": rng.normal(4.5 + 10 * shift, 0.8, docs),
            "gopher_quality.alpha_words_frac": rng.uniform(0.7, 1.0, docs),
            "fineweb_quality.line_punct_ratio": rng.uniform(0.0, 1.0, docs),
        },
        word_documents=Counter({"the": docs, "of": int(0.8 * docs), "rare": 1}),
    )


def test_language_score_threshold_is_median_minus_std_clamped() -> None:
    assert language_threshold(np.array([0.9, 0.9, 0.9])) == 0.9
    assert language_threshold(np.array([0.1, 0.2, 0.3])) == 0.3
    values = np.array([0.5, 0.6, 0.7, 0.8])
    assert language_threshold(values) == pytest.approx(np.median(values) - np.std(values), abs=1e-3)


def test_keep_rates_follow_english() -> None:
    rng = np.random.default_rng(1)
    english = _sample(rng, 1000)
    rates = keep_rates(english, tail=0.1)
    # English dup_line_frac is uniform on [0, 0.4]: the English threshold 0.3 keeps about 75%.
    assert rates["dup_line_frac"] == pytest.approx(0.75, abs=0.04)
    assert keep_rates(None, tail=0.1)["dup_line_frac"] == 0.9


def test_calibrate_keeps_the_english_share_in_each_language(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    samples = {"eng_Latn": _sample(rng, 1000), "fra_Latn": _sample(rng, 800, shift=0.2), "xho_Latn": _sample(rng, 5)}
    settings, report = calibrate(samples, "english_rate", min_documents=20, stop_words=5)
    assert set(settings.values) == {"eng_Latn", "fra_Latn"}
    assert "skipped" in report["languages"]["xho_Latn"]
    french = samples["fra_Latn"].signals["gopher_repetition.dup_line_frac"]
    threshold = settings.values["fra_Latn"]["dup_line_frac"]
    # French repeats more lines: its threshold is higher, and it keeps the share English keeps.
    assert threshold > settings.values["eng_Latn"]["dup_line_frac"]
    assert (french <= threshold).mean() == pytest.approx(report["keep_rates"]["dup_line_frac"], abs=0.02)
    assert settings.values["fra_Latn"]["min_avg_word_length"] > 5
    assert settings.stop_words["fra_Latn"] == ["the", "of"]
    # The settings file is a preset the stages read.
    path = settings.write(tmp_path / "calibrated.json")
    params = GopherQualityParams(preset=str(path)).for_language("fr")
    assert params.min_avg_word_length == settings.values["fra_Latn"]["min_avg_word_length"]
    assert params.stop_words == ["the", "of"]
    assert load_settings(str(path)).key("fra") == "fra_Latn"
    with pytest.raises(ValueError, match="unknown calibration method"):
        calibrate(samples, "median")


def test_a_signal_the_reference_never_shows_sets_no_threshold() -> None:
    rng = np.random.default_rng(3)
    sample = _sample(rng, 100)
    sample.signals["gopher_repetition.dup_line_frac"] = np.zeros(100)
    settings, _ = calibrate({"fra_Latn": sample}, "tail")
    assert "dup_line_frac" not in settings.values["fra_Latn"]
    assert settings.values["fra_Latn"]["min_avg_word_length"] > 0
