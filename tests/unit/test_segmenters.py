"""Dictionary word segmentation for Chinese, Japanese, Thai, Lao and Khmer, Korean morphemes (the `multilingual`
extra), and the explicit choice between it and one word per character."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from thresher.stages.fused import run_row_stages
from thresher.stages.quality.fineweb import FineWebQuality, FineWebQualityParams
from thresher.stages.quality.gopher import (
    GopherQuality,
    GopherQualityParams,
    GopherRepetition,
    GopherRepetitionParams,
)
from thresher.text.segmenters import missing_packages, segmenter_name
from thresher.text.words import word_splitter

UDHR = Path(__file__).resolve().parents[3] / "shared" / "data" / "multilingual" / "udhr_all.jsonl.gz"

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
    assert [segmenter_name(c) for c in ("lo", "lao", "lao_Laoo", "km", "khm", "khm_Khmr")] == ["lo"] * 3 + ["km"] * 3
    assert segmenter_name("en") is None and segmenter_name("my") is None and segmenter_name("bo") is None
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
    assert word_splitter("my", "dictionary") is word_splitter("my")


@needs_segmenters
def test_dictionary_segmentation_of_lao_and_khmer() -> None:
    lo = word_splitter("lo", "dictionary")
    assert lo.split("ຂ້ອຍມັກກິນເຂົ້າ") == ["ຂ້ອຍ", "ມັກ", "ກິນເຂົ້າ"]  # 'eat rice' (to eat) is one entry
    assert lo.split("ຂ້ອຍຮັກປະເທດລາວ ແລະ ປະຊາຊົນລາວ") == ["ຂ້ອຍ", "ຮັກ", "ປະເທດລາວ", "ແລະ", "ປະຊາຊົນ", "ລາວ"]
    assert word_splitter("lao_Laoo", "dictionary") is lo
    km = word_splitter("km", "dictionary")
    # Zero-width spaces (Khmer's optional word breaks) are not words; Latin and digits stay whole.
    assert km.split("ខ្ញុំចូលចិត្តញ៉ាំបាយ\u200bណាស់ Python 2024") == ["ខ្ញុំ", "ចូលចិត្ត", "ញ៉ាំ", "បាយ", "ណាស់", "Python", "2024"]
    assert word_splitter("khm", "dictionary") is km
    # One word per character without the dictionary.
    assert len(word_splitter("km").split("ខ្ញុំចូលចិត្ត")) > 3


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


@pytest.mark.parametrize("package", ["rjieba", "laonlp", "khmernltk"])
def test_missing_segmenter_names_the_extra(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == package else real(name, *a))
    with pytest.raises(ValueError, match=rf"{package}: pip install 'thresher\[multilingual\]'"):
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


@needs_segmenters
@pytest.mark.skipif(not UDHR.exists(), reason=f"shared UDHR translations not found at {UDHR}")
@pytest.mark.parametrize(("code", "language"), [("lao", "lo"), ("khm", "km")])
def test_lao_and_khmer_udhr_pass_fineweb2_word_rules_only_when_segmented(code: str, language: str) -> None:
    # One word per character makes words one letter long and every 5-gram repeat; dictionary words pass
    # FineWeb-2's word-length, stop-word and repetition rules, which web_multi.yaml no longer turns off here.
    with gzip.open(UDHR, "rt") as f:
        row = next(r for r in map(json.loads, f) if r.get("iso6393") == code and r["code"] == code)
    text = "\n".join([p for p in row["text"].split("\n") if p.strip()][:30])
    doc = {"text": text, "language": {"keep": True, "reason": None, "lang": language}}
    reasons = {}
    for mode in ("characters", "dictionary"):
        stages = [
            GopherRepetition(GopherRepetitionParams(preset="fineweb2", segmentation=mode)),
            FineWebQuality(FineWebQualityParams(preset="fineweb2", segmentation=mode)),
            GopherQuality(GopherQualityParams(preset="fineweb2", segmentation=mode)),
        ]
        (row_out,) = run_row_stages(stages, [doc], mode="annotate")
        reasons[mode] = {s.id: row_out[s.id]["reason"] for s in stages if not row_out[s.id]["keep"]}
    assert reasons["characters"]["gopher_quality"] == "short_mean_word_length"
    assert reasons["dictionary"] == {}


def _random_khmer_strings(count: int, seed: int) -> list[str]:
    """Strings of Khmer letters, signs and digits mixed with Latin, digits, punctuation, spaces and zero-width
    spaces: every path of khmer-nltk's clean-up and cluster rules."""
    import random

    rng = random.Random(seed)
    alphabet = [chr(c) for c in range(0x1780, 0x17FA)] + list("abcXYZ019 .,?-\u200b\n\u2028៕។") + ["é", "İ", "ǅ"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 90))) for _ in range(count)]


@needs_segmenters
def test_khmer_words_are_khmer_nltks() -> None:
    from khmernltk import word_tokenize

    from thresher.text.khmer import khmer_tokens

    written = [
        "ខ្ញុំចូលចិត្តញ៉ាំបាយ\u200bណាស់ Python 2024",
        "មនុស្សទាំងអស់កើតមកមានសេរីភាព និងសមភាពក្នុងសេចក្ដីថ្លៃថ្នូរ និងសិទ្ធិ។",
        "ថ្ងៃទី ១០ ខែធ្នូ ឆ្នាំ១៩៤៨ health.com.kh",
        "",
        "   ",
    ]
    for text in written + _random_khmer_strings(1500, seed=7):
        assert khmer_tokens(text) == word_tokenize(text, return_tokens=True), repr(text)


@needs_segmenters
def test_khmer_model_loads_without_scikit_learn() -> None:
    # khmer-nltk's own loader unpickles a scikit-learn estimator (~1.3 CPU s of imports per Python worker).
    import subprocess
    import sys

    code = (
        "import sys; from thresher.text.khmer import khmer_tokens; "
        "assert khmer_tokens('ខ្ញុំចូលចិត្ត') == ['ខ្ញុំ', 'ចូលចិត្ត'], khmer_tokens('ខ្ញុំចូលចិត្ត'); "
        "print(sorted(m for m in ('sklearn', 'scipy', 'sklearn_crfsuite') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@needs_segmenters
def test_khmer_model_attributes_cover_every_attribute_the_tagger_uses() -> None:
    # Leaving out the attributes the model does not know must change no label: compare with all of them.
    from khmernltk.utils.data import cleanup_str, seg_kcc

    from thresher.text.khmer import _attributes, _tagger

    tagger, known = _tagger()
    assert known is not None and len(known["kcc"]) > 1000 and "BOS" in known
    left_out = 0
    for text in _random_khmer_strings(300, seed=11):
        clusters = seg_kcc(cleanup_str(text))
        if clusters:
            filtered, everything = _attributes(clusters), _attributes(clusters, every_attribute=True)
            assert all(set(f) <= set(e) for f, e in zip(filtered, everything, strict=True))
            assert tagger.tag(filtered) == tagger.tag(everything)
            left_out += sum(len(e) - len(f) for f, e in zip(filtered, everything, strict=True))
    assert left_out > 1000  # random text holds many cluster n-grams the model never saw
