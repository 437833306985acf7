"""Dictionary word segmentation for Chinese, Japanese and Thai, Korean morphemes (the `multilingual` extra), and the
explicit choice between it and one word per character."""

from __future__ import annotations

import pytest

from thresher.stages.fused import run_row_stages
from thresher.stages.quality.gopher import GopherQuality, GopherQualityParams
from thresher.text.segmenters import missing_packages, segmenter_name
from thresher.text.words import word_splitter

needs_segmenters = pytest.mark.skipif(
    bool(missing_packages()),
    reason=f"the multilingual extra is not installed (missing {missing_packages()}): "
    "pip install 'thresher[multilingual]'",
)


def test_segmenter_names() -> None:
    assert [segmenter_name(c) for c in ("zh", "cmn_Hani", "yue", "zho", "ja", "jpn_Jpan", "th", "tha")] == [
        "zh",
        "zh",
        "zh",
        "zh",
        "ja",
        "ja",
        "th",
        "th",
    ]
    assert segmenter_name("lo") is None and segmenter_name("en") is None and segmenter_name("km") is None
    assert segmenter_name("ko") == "ko" and segmenter_name("kor_Hang") == "ko"


def test_characters_is_the_default_and_counts_one_word_per_character() -> None:
    assert word_splitter("zh").split("我们在公园里散步。") == ["我", "们", "在", "公", "园", "里", "散", "步", "。"]
    assert word_splitter("zh", "characters") is word_splitter("zh")


@needs_segmenters
def test_dictionary_segmentation_of_chinese_japanese_thai() -> None:
    zh = word_splitter("zh", "dictionary")
    assert zh.split("我们在公园里散步。Python很好") == ["我们", "在", "公园", "里", "散步", "。", "Python", "很", "好"]
    assert word_splitter("cmn_Hani", "dictionary") is zh
    ja = word_splitter("ja", "dictionary").split("私は東京タワーに行きました。")
    assert "東京" in ja and "タワー" in ja and "私" in ja and len(ja) < 12
    th = word_splitter("th", "dictionary").split("ฉันชอบกินข้าวผัด")
    assert th == ["ฉัน", "ชอบ", "กิน", "ข้าวผัด"]
    # Languages without a dictionary segmenter keep one word per character.
    assert word_splitter("lo", "dictionary") is word_splitter("lo")


@needs_segmenters
def test_stop_words_count_as_words_with_dictionary_segmentation() -> None:
    text = "我们在公园里散步，然后我们去了图书馆看书。" * 10
    doc = {"text": text, "language": {"keep": True, "reason": None, "lang": "zh", "score": 1.0}}
    params = dict(min_doc_words=5, min_avg_word_length=0, stop_words=["我们", "然后"], min_stop_words=2)
    by_character = GopherQuality(GopherQualityParams(**params))
    by_dictionary = GopherQuality(GopherQualityParams(**params, segmentation="dictionary"))
    (chars,) = run_row_stages([by_character], [doc], mode="annotate")
    (words,) = run_row_stages([by_dictionary], [doc], mode="annotate")
    assert chars["gopher_quality"]["reason"] == "too_few_stop_words"
    assert words["gopher_quality"]["reason"] is None and words["gopher_quality"]["stop_words"] == 2
    assert words["gopher_quality"]["words"] < chars["gopher_quality"]["words"]


def test_unknown_segmentation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown segmentation"):
        GopherQualityParams(segmentation="words")


def test_missing_segmenter_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "rjieba" else real(name, *a))
    with pytest.raises(ValueError, match=r"rjieba: pip install 'thresher\[multilingual\]'"):
        GopherQualityParams(segmentation="dictionary")


@needs_segmenters
def test_korean_dictionary_segmentation_finds_particles_and_endings() -> None:
    # FineWeb-2's Korean stop words are particles and endings (Kiwi's morphemes): spaces alone never find them.
    ko = word_splitter("ko", "dictionary")
    words = ko.split("인류 구성원의 권리를 인정하는 것이, 1948년에 했다.")
    assert {"구성원", "의", "권리", "를", "는", "년", "다", ",", "."} <= set(words)
    assert word_splitter("kor_Hang", "dictionary") is ko
    # Latin inside a Korean document is split as usual; 'characters' keeps Korean split at spaces.
    assert ko.split("Python은 좋다")[0] == "Python"
    assert word_splitter("ko").split("구성원의 권리를") == ["구성원의", "권리를"]
    stage = GopherQuality(GopherQualityParams(preset="fineweb2", segmentation="dictionary"))
    text = "모든 사람은 의견의 자유와 표현의 자유에 대한 권리를 가진다. 이 권리는 의견을 가질 자유를 가진다. " * 4
    doc = {"text": text, "language": {"keep": True, "reason": None, "lang": "ko", "score": 1.0}}
    (row,) = run_row_stages([stage], [doc], mode="annotate")
    assert row["gopher_quality"]["stop_words"] >= 2 and row["gopher_quality"]["keep"]
