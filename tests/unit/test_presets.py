"""The `fineweb2` preset: the shipped file against FineWeb-2's published configs, and how the rule stages read
each document's language's settings from it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import SHARED_DATA
from thresher.stages.fused import run_row_stages
from thresher.stages.quality._presets import PRESET_DIR, LanguageSettings, load_settings
from thresher.stages.quality.fineweb import FineWebQuality, FineWebQualityParams
from thresher.stages.quality.gopher import (
    GopherQuality,
    GopherQualityParams,
    GopherRepetition,
    GopherRepetitionParams,
)

PRESET_FILE = PRESET_DIR / "fineweb2.json.gz"


def test_preset_file_is_small_and_attributed() -> None:
    assert PRESET_FILE.stat().st_size < 400_000
    data = json.loads(gzip.decompress(PRESET_FILE.read_bytes()))
    assert "ODC-By" in data["source"] and "FineWeb" in data["source"]
    assert len(data["values"]) == 1929


def test_preset_matches_fineweb2_configs() -> None:
    configs = sorted((SHARED_DATA / "fineweb2" / "configs").glob("*.yml"))
    if not configs:
        pytest.skip(f"FineWeb-2 configs not available under {SHARED_DATA} (set THRESHER_SHARED_DATA)")
    settings = load_settings("fineweb2")
    assert set(settings.values) == {p.stem for p in configs}
    for path in configs:
        config = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        values = settings.values[path.stem]
        assert values["language_score"] == config["language_score"], path.stem
        assert values["dup_line_frac"] == config["dup_line_frac"], path.stem
        assert values["line_punct_thr"] == config["line_punct_thr"], path.stem
        assert values["new_line_ratio"] == config["new_line_ratio"], path.stem
        assert values["min_avg_word_length"] == config["min_avg_word_length"], path.stem
        assert values["max_avg_word_length"] == config["max_avg_word_length"], path.stem
        assert values["max_non_alpha_words_ratio"] == config["max_non_alpha_words_ratio"], path.stem
        assert [values[f"top_{n}_gram"] for n, _ in config["top_n_grams"]] == [v for _, v in config["top_n_grams"]]
        assert [values[f"dup_{n}_gram"] for n, _ in config["dup_n_grams"]] == [v for _, v in config["dup_n_grams"]]
        assert settings.stop_words[path.stem] == [str(w) for w in config["stopwords"]], path.stem


@pytest.mark.parametrize(
    ("code", "key"),
    [
        ("fr", "fra_Latn"),
        ("fra", "fra_Latn"),
        ("fra_Latn", "fra_Latn"),
        ("__label__fra_Latn", "fra_Latn"),
        ("zh", "cmn_Hani"),  # macrolanguage -> its largest FineWeb-2 member
        ("ar", "arb_Arab"),
        ("de", "deu_Latn"),
        ("ru", "rus_Cyrl"),
        ("ja", "jpn_Jpan"),
        ("sr", "srp_Cyrl"),
        ("srp_Latn", "srp_Latn"),
        ("en", None),  # FineWeb-2 covers every language but English
        ("qqq", None),
    ],
)
def test_preset_keys(code: str, key: str | None) -> None:
    assert load_settings("fineweb2").key(code) == key


def _doc(text: str, lang: str) -> dict:
    return {"text": text, "language": {"keep": True, "reason": None, "lang": lang, "script": None, "score": 1.0}}


def test_rule_stages_read_the_preset_per_language() -> None:
    settings = load_settings("fineweb2")
    fra = settings.values["fra_Latn"]
    quality = GopherQualityParams(preset="fineweb2")
    french = quality.for_language("fr")
    assert french.min_avg_word_length == fra["min_avg_word_length"]
    assert french.max_avg_word_length == fra["max_avg_word_length"]
    assert french.min_alpha_words_ratio == fra["max_non_alpha_words_ratio"]
    assert french.stop_words == settings.stop_words["fra_Latn"] and french.min_stop_words == 2
    assert quality.for_language("fra_Latn") == french
    # English is not in FineWeb-2: the stage's own parameters apply.
    assert quality.for_language("en") is quality
    repetition = GopherRepetitionParams(preset="fineweb2").for_language("de")
    assert repetition.dup_para_frac is None and repetition.dup_line_char_frac is None
    assert repetition.top_n_grams == {
        2: settings.values["deu_Latn"]["top_2_gram"],
        **{n: settings.values["deu_Latn"][f"top_{n}_gram"] for n in (3, 4)},
    }
    fineweb = FineWebQualityParams(preset="fineweb2").for_language("cmn_Hani")
    assert fineweb.short_line_thr == 1.0 and fineweb.char_duplicates_ratio == 0.1
    assert fineweb.new_line_ratio == settings.values["cmn_Hani"]["new_line_ratio"]


def test_every_preset_language_gives_valid_parameters() -> None:
    # FineWeb-2 writes n-gram shares above 1 (a rule that never fires) for ~700 languages, e.g. Quechua's
    # top_2_gram 1.334: those n-grams are left out instead of failing the document.
    settings = load_settings("fineweb2")
    assert settings.values["qug_Latn"]["top_2_gram"] > 1
    repetition = GopherRepetitionParams(preset="fineweb2")
    assert repetition.for_language("qug_Latn").top_n_grams == {4: settings.values["qug_Latn"]["top_4_gram"]}
    for key in settings.values:
        params = repetition.for_language(key)
        assert all(v <= 1 for v in (*params.top_n_grams.values(), *params.dup_n_grams.values())), key


def test_languages_overrides_win_over_the_preset() -> None:
    params = GopherQualityParams(preset="fineweb2", languages={"fra_Latn": {"min_stop_words": 5}})
    assert params.for_language("fr").min_stop_words == 5
    assert params.for_language("fr").stop_words == load_settings("fineweb2").stop_words["fra_Latn"]
    with pytest.raises(ValueError, match="neither a bundled preset"):
        GopherQualityParams(preset="fineweb3")


def test_overrides_by_language_then_macrolanguage() -> None:
    params = GopherQualityParams(languages={"zh": {"min_doc_words": 7}, "yue": {"min_doc_words": 9}})
    assert params.for_language("cmn_Hani").min_doc_words == 7  # Mandarin finds the override of Chinese
    assert params.for_language("zho").min_doc_words == 7
    assert params.for_language("yue_Hani").min_doc_words == 9  # its own override wins
    assert params.for_language("ja").min_doc_words == 50


def test_stop_words_of_the_document_language_decide() -> None:
    # A German sentence has German stop words but hardly any French ones: with the preset, the same text passes as
    # German and fails the stop-word rule as French.
    text = " ".join(["Die Kinder spielen mit dem Ball und der Hund läuft über die Wiese in der Sonne."] * 6)
    stage = GopherQuality(GopherQualityParams(preset="fineweb2"))
    rows = run_row_stages([stage], [_doc(text, "de"), _doc(text, "fr")], mode="annotate")
    assert [r["gopher_quality"]["reason"] for r in rows] == [None, "too_few_stop_words"]


RUSSIAN = (
    "Утром над рекой поднимается туман, и рыбаки выходят на лодках к дальнему берегу.\n"
    "В деревне открыли новую школу, где дети учатся рисовать и играть на скрипке.\n"
    "Осенью листья в парке становятся жёлтыми, а по вечерам рано темнеет.\n"
    "Бабушка печёт пироги с капустой и рассказывает внукам старые сказки.\n"
    "На станции всегда много людей: одни уезжают в город, другие возвращаются домой.\n"
    "Весной мы посадили в саду яблони, и теперь ждём первых плодов через несколько лет."
)


def test_repetition_and_fineweb_stages_run_with_the_preset() -> None:
    stages = [
        GopherRepetition(GopherRepetitionParams(preset="fineweb2")),
        FineWebQuality(FineWebQualityParams(preset="fineweb2")),
    ]
    repeated = "\n".join(f"Строка номер {i} рассказывает о погоде в городе и о людях." for i in range(30))
    rows = run_row_stages(stages, [_doc(RUSSIAN, "ru"), _doc(repeated, "ru")], mode="annotate")
    assert rows[0]["gopher_repetition"]["reason"] is None and rows[0]["fineweb_quality"]["reason"] is None
    assert rows[1]["gopher_repetition"]["reason"].startswith(("top_", "dup_"))
    # The preset's n-gram sizes are the stage's signals.
    assert {f"dup_{n}_gram_char_frac" for n in range(5, 11)} <= set(rows[0]["gopher_repetition"])


def test_settings_round_trip(tmp_path: Path) -> None:
    settings = LanguageSettings(
        name="t",
        source="test",
        values={"fra_Latn": {"language_score": 0.5, "top_2_gram": 0.2}},
        stop_words={"fra_Latn": ["le", "l'", "a b"]},
        aliases={"fra": "fra_Latn"},
    )
    path = settings.write(tmp_path / "s.json")
    loaded = load_settings(str(path))
    assert loaded.values == settings.values and loaded.stop_words == settings.stop_words
    assert loaded.stage_values("fra_Latn")["top_n_grams"] == {2: 0.2}
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not a thresher language settings file"):
        load_settings(str(tmp_path / "bad.json"))


def test_web_multi_config_validates_with_the_preset_on_every_rule_stage() -> None:
    from tests.conftest import PROJECT_ROOT
    from thresher.conf import load_config

    config = load_config(PROJECT_ROOT / "conf" / "web_multi.yaml")
    ids = [s.id for s in config.stages]
    assert ids.index("language") < ids.index("gopher_repetition") < ids.index("fineweb_quality")
    assert ids.index("fineweb_quality") < ids.index("gopher_quality") and "c4_quality" not in ids
    by_id = {s.id: s.stage for s in config.stages}
    assert all(by_id[i].params.preset == "fineweb2" for i in ("language", "gopher_repetition", "gopher_quality"))
    assert by_id["gopher_quality"].params.for_language("zh").stop_words[:2] == ["的", "年"]
