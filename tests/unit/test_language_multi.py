"""The language stage with GlotLID-style labels (`__label__eng_Latn`), code styles, scripts and per-language
thresholds, on a tiny fastText model trained here on generated text."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from thresher.stages.fused import run_row_stages
from thresher.stages.quality.language import Language, LanguageParams

VOCABULARY = {
    "eng_Latn": "the house river green morning window friend village water light people summer",
    "srp_Cyrl": "кућа река зелено јутро прозор пријатељ село вода светло људи лето",
    "srp_Latn": "kuća reka zeleno jutro prozor prijatelj selo voda svetlo ljudi leto",
    "cmn_Hani": "房子 河流 绿色 早上 窗户 朋友 村庄 水 光 人们 夏天",
}


def _sentence(rng: random.Random, label: str, words: int = 12) -> str:
    return " ".join(rng.choice(VOCABULARY[label].split()) for _ in range(words))


@pytest.fixture(scope="module")
def glotlid_style_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    import fasttext

    rng = random.Random(7)
    folder = tmp_path_factory.mktemp("glotlid")
    train = folder / "train.txt"
    lines = [f"__label__{label} {_sentence(rng, label)}" for label in VOCABULARY for _ in range(300)]
    rng.shuffle(lines)
    train.write_text("\n".join(lines) + "\n")
    model = fasttext.train_supervised(str(train), epoch=10, lr=0.5, minn=2, maxn=4, dim=16, thread=1, seed=1)
    path = folder / "model.bin"
    model.save_model(str(path))
    return str(path)


def _run(params: LanguageParams, texts: list[str]) -> list[dict[str, Any]]:
    stage = Language(params)
    return [row["language"] for row in run_row_stages([stage], [{"text": t} for t in texts], mode="annotate")]


def test_glotlid_labels_give_language_and_script_in_each_code_style(glotlid_style_model: str) -> None:
    rng = random.Random(1)
    texts = [_sentence(rng, label, 20) for label in VOCABULARY]
    expected = {
        "iso1": ["en", "sr", "sr", "cmn"],
        "iso3": ["eng", "srp", "srp", "cmn"],
        "lang_script": ["eng_Latn", "srp_Cyrl", "srp_Latn", "cmn_Hani"],
    }
    for style, langs in expected.items():
        out = _run(LanguageParams(model_path=glotlid_style_model, code_style=style, threshold=0.0), texts)
        assert [r["lang"] for r in out] == langs, style
        assert [r["script"] for r in out] == ["Latn", "Cyrl", "Latn", "Hani"]
        assert all(r["score"] > 0.5 for r in out)


def test_keep_list_and_thresholds_by_any_spelling(glotlid_style_model: str) -> None:
    rng = random.Random(2)
    texts = [_sentence(rng, label, 20) for label in VOCABULARY]
    # Serbian in Latin script only, English by its ISO 639-1 code.
    out = _run(LanguageParams(model_path=glotlid_style_model, languages=["en", "srp_Latn"], threshold=0.0), texts)
    assert [r["reason"] for r in out] == [None, "not_in_languages", None, "not_in_languages"]
    # A threshold just above the score of one language and script only.
    scores = [r["score"] for r in out]
    assert max(scores) < 1
    above = scores[1] + 1e-6
    out = _run(LanguageParams(model_path=glotlid_style_model, threshold=0.0, thresholds={"srp_Cyrl": above}), texts)
    assert [r["reason"] for r in out] == [None, "low_score", None, None]
    english = {"eng": scores[0] + 1e-6}
    out = _run(LanguageParams(model_path=glotlid_style_model, threshold=0.0, thresholds=english), texts)
    assert [r["reason"] for r in out] == ["low_score", None, None, None]


def test_bad_code_style_and_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="code_style"):
        LanguageParams(code_style="bcp47")
    with pytest.raises(ValueError, match=r"thresholds\.fr"):
        LanguageParams(thresholds={"fr": 2.0})


def test_lid176_reports_iso1_codes_and_default_scripts() -> None:
    out = _run(
        LanguageParams(threshold=0.0),
        [
            "Все люди рождаются свободными и равными в своем достоинстве и правах.",
            "Tous les êtres humains naissent libres et égaux en dignité et en droits.",
            "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。",
        ],
    )
    assert [(r["lang"], r["script"]) for r in out] == [("ru", "Cyrl"), ("fr", "Latn"), ("zh", "Hani")]


def test_preset_thresholds_apply_per_language() -> None:
    text = "Tous les êtres humains naissent libres et égaux en dignité et en droits."
    (fr,) = _run(LanguageParams(preset="fineweb2", threshold=0.0), [text])
    assert fr["keep"] is True
    # FineWeb-2's French threshold (0.824, set on GlotLID scores) applies to GlotLID-style labels; lid.176's
    # 'fr' names no script: `threshold` applies, unless preset_scores is 'always'.
    stage = Language(LanguageParams(preset="fineweb2", threshold=0.3))
    assert stage.decide("fra_Latn", 0.80) == "low_score" and stage.decide("fra_Latn", 0.83) is None
    assert stage.decide("fr", 0.31) is None and stage.decide("fr", 0.29) == "low_score"
    stage = Language(LanguageParams(preset="fineweb2", threshold=0.0, preset_scores="always"))
    assert stage.decide("fr", 0.80) == "low_score" and stage.decide("fr", 0.83) is None
    # An explicit threshold wins over the preset.
    stage = Language(LanguageParams(preset="fineweb2", thresholds={"fra_Latn": 0.5}))
    assert stage.decide("fr", 0.6) is None
    with pytest.raises(ValueError, match="neither a bundled preset"):
        LanguageParams(preset=str(Path("/nonexistent/settings.json")))
