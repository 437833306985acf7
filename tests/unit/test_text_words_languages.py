"""Per-language word splitting where FineWeb-2's tokenizer for the language cuts words differently from the plain
rules: French elision, Maltese clitics, Tibetan syllables, the Ethiopic wordspace."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from thresher.stages.fused import run_row_stages
from thresher.stages.quality.fineweb import FineWebQuality, FineWebQualityParams
from thresher.stages.quality.gopher import GopherQuality, GopherQualityParams
from thresher.stages.quality.language import Language, LanguageParams
from thresher.text.words import word_splitter

UDHR = Path(__file__).resolve().parents[3] / "shared" / "data" / "multilingual" / "udhr_all.jsonl.gz"


def test_french_rules_split_after_an_elided_article() -> None:
    fr = word_splitter("fr")
    assert fr.split("L'homme qu'il voit, c'est l’ami d'Anne.") == [
        "L'", "homme", "qu'", "il", "voit", ",", "c'", "est", "l’", "ami", "d'", "Anne", ".",
    ]  # fmt: skip
    assert fr.split("aujourd'hui") == ["aujourd'hui"]
    # Walloon and the other languages FineWeb-2 splits with the French rules share them.
    assert word_splitter("wa").split("l'fondemint dè-l'lîbèté") == ["l'", "fondemint", "dè", "-", "l'", "lîbèté"]
    assert word_splitter("wa") is fr
    # Other languages keep the plain rules.
    assert word_splitter("it").split("l'uomo") == ["l'uomo"]


def test_maltese_clitics_keep_their_hyphen_and_apostrophe() -> None:
    mt = word_splitter("mt")
    assert mt.split("Il-bniedem tal-familja, ta' kull xi ħadd u ta’ L-ISTQARRIJA") == [
        "Il-", "bniedem", "tal-", "familja", ",", "ta'", "kull", "xi", "ħadd", "u", "ta’", "L-", "ISTQARRIJA",
    ]  # fmt: skip
    # A dash between words or at the end of a piece is not a clitic's hyphen.
    assert mt.split("sena - sena 1 - 2") == ["sena", "-", "sena", "1", "-", "2"]


def test_tibetan_counts_one_word_per_syllable_with_its_tsheg() -> None:
    bo = word_splitter("bo")
    assert bo.split("ཡོངས་ཁྱབ་གསལ་བསྒྲགས། མིའི་ཐོབ་ཐང༌།") == [
        "ཡོངས་", "ཁྱབ་", "གསལ་", "བསྒྲགས", "།", "མིའི་", "ཐོབ་", "ཐང༌", "།",
    ]  # fmt: skip
    # Other scripts written without spaces still count one word per character.
    assert word_splitter("th").split("สวัสดี") == ["ส", "วั", "ส", "ดี"]


def test_ethiopic_wordspace_separates_words_outside_english() -> None:
    am = word_splitter("am")
    assert am.split("የሰው፡ልጅ፡ሁሉ፡ነው።፡አንቀጽ፡፩፤ የመኖር፣፡በነጻነትና") == [
        "የሰው", "ልጅ", "ሁሉ", "ነው", "።", "አንቀጽ", "፩", "፤", "የመኖር", "፣", "በነጻነትና",
    ]  # fmt: skip
    assert am.split("ሰላም ነው።") == ["ሰላም", "ነው", "።"]
    # English keeps the reference's splitting, which knows no Ethiopic.
    assert word_splitter("en").split("የሰው፡ልጅ") == ["የሰው፡ልጅ"]


def _rule_reason(text: str, language: str) -> str | None:
    """The first reason FineWeb's and Gopher's quality rules (FineWeb-2's settings) give to drop the text."""
    stages = [
        FineWebQuality(FineWebQualityParams(preset="fineweb2")),
        GopherQuality(GopherQualityParams(preset="fineweb2")),
    ]
    row = {"text": text, "language": {"keep": True, "reason": None, "lang": language}}
    result = run_row_stages(stages, [row], mode="annotate")[0]
    return next((f"{s.id}:{result[s.id]['reason']}" for s in stages if not result[s.id]["keep"]), None)


def test_clean_maltese_and_french_text_keeps_its_letters_and_stop_words() -> None:
    maltese = " ".join(["Il-bniedem għandu d-dritt tal-ħajja, tal-libertà u tas-sigurtà tal-persuna tiegħu."] * 8)
    assert _rule_reason(maltese, "mt") is None
    french = " ".join(["L'homme a droit à l'éducation et à l'égalité devant la loi d'un pays libre."] * 8)
    assert _rule_reason(french, "fr") is None


@pytest.mark.skipif(not UDHR.exists(), reason=f"shared UDHR translations not found at {UDHR}")
@pytest.mark.parametrize("code", ["amh", "bod", "mlt", "wln", "tgl"])
def test_udhr_translations_pass_the_word_rules(code: str) -> None:
    with gzip.open(UDHR, "rt") as f:
        rows = [json.loads(line) for line in f]
    row = next(r for r in rows if r.get("iso6393") == code and r["code"] == code)
    paragraphs = [p for p in row["text"].split("\n") if p.strip()][:30]
    text = "\n".join(paragraphs)
    lang = run_row_stages([Language(LanguageParams(threshold=0.0))], [{"text": text}], mode="annotate")[0]
    assert _rule_reason(text, lang["language"]["lang"]) is None


def test_tagalog_gets_fineweb2_filipino_settings() -> None:
    from thresher.stages.quality._presets import load_settings

    # GlotLID (FineWeb-2) labels Tagalog text fil_Latn; lid.176 says 'tl'.
    assert load_settings("fineweb2").key("tl") == "fil_Latn"
    assert "mga" in GopherQualityParams(preset="fineweb2").for_language("tl").stop_words
