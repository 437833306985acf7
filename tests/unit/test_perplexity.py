"""The perplexity stage and the n-gram LM helpers without Spark: CCNet normalization, discounts, model checks,
and scores equal to KenLM's own query on the same ARPA file."""

from __future__ import annotations

import math

import pytest

from tests.lm_fixtures import HAND_PROBS, hand_arpa
from thresher.errors import ConfigError
from thresher.models.ngram_lm import FALLBACK_DISCOUNTS, LMOptions, discounts_from_counts, sentence_ngrams
from thresher.text.lm_tokens import document_sentences, normalize_line, tokenize_line

kenlm = pytest.importorskip("kenlm", reason="needs the `lm` extra (kenlm)")

from thresher.stages.fused import run_row_stages  # noqa: E402
from thresher.stages.perplexity import Perplexity, PerplexityParams  # noqa: E402


def test_ccnet_normalization_lowercases_strips_accents_zeroes_digits_and_maps_punctuation():
    assert normalize_line("  Élève à l’École, 2024！ ") == "eleve a l'ecole, 0000!"
    assert normalize_line("１２３ — “quoted”…\x07") == '000  -  "quoted"...'
    assert tokenize_line("Don't panic: 42 km/h.") == ["don", "'", "t", "panic", ":", "00", "km", "/", "h", "."]
    assert document_sentences("First line.\n\n   \nSecond!") == [["first", "line", "."], ["second", "!"]]


def test_sentence_ngrams_pad_once_with_sentence_marks():
    grams = list(sentence_ngrams(["a", "b"], 3))
    assert grams == [
        (1, "<s>"),
        (1, "a"),
        (2, "<s> a"),
        (1, "b"),
        (2, "a b"),
        (3, "<s> a b"),
        (1, "</s>"),
        (2, "b </s>"),
        (3, "a b </s>"),
    ]


def test_discounts_follow_chen_and_goodman_and_fall_back_on_tiny_data():
    # t1..t4 = 100, 40, 20, 10: Y = 100 / 180; D1 = 1 - 2Y 40/100, D2 = 2 - 3Y 20/40, D3+ = 3 - 4Y 10/20.
    values, fallback = discounts_from_counts({1: 100, 2: 40, 3: 20, 4: 10})
    y = 100 / 180
    assert not fallback
    assert values == pytest.approx([1 - 2 * y * 0.4, 2 - 3 * y * 0.5, 3 - 4 * y * 0.5])
    assert discounts_from_counts({1: 3, 2: 3}) == (list(FALLBACK_DISCOUNTS), True)


def test_lm_options_refuse_what_lmplz_refuses():
    assert LMOptions(order=3, prune=(0, 1)).thresholds() == [0, 1, 1]
    for bad in ({"order": 1}, {"order": 7}, {"prune": (1,)}, {"prune": (0, 2, 1)}, {"order": 2, "prune": (0, 1, 1)}):
        with pytest.raises(ValueError):
            LMOptions(**bad)


@pytest.fixture()
def hand_model(tmp_path):
    path = tmp_path / "hand.arpa"
    path.write_text(hand_arpa())
    return str(path)


def test_the_hand_computed_model_is_a_distribution_kenlm_agrees_with(hand_model):
    from tests.lm_fixtures import conditional_log10

    model = kenlm.Model(hand_model)
    for (context, word), p in HAND_PROBS.items():
        assert conditional_log10(model, [context], word) == pytest.approx(math.log10(p), abs=1e-6)
    for context in ("<s>", "a", "b"):
        total = sum(10 ** conditional_log10(model, [context], w) for w in ("a", "b", "</s>", "<unk>"))
        assert total == pytest.approx(1.0, abs=1e-6)


def test_stage_scores_are_kenlms_own_scores_line_by_line(hand_model):
    model = kenlm.Model(hand_model)
    docs = [
        {"text": "A b\n\nB  a\n"},  # normalized to "a b" and "b a"
        {"text": "a z b"},  # z is out of vocabulary
        {"text": "   \n"},  # no LM tokens
    ]
    rows = run_row_stages([Perplexity(PerplexityParams(models={"en": hand_model}))], docs)
    first = rows[0]["perplexity"]
    expected = model.score("a b", bos=True, eos=True) + model.score("b a", bos=True, eos=True)
    assert first["log_prob"] == expected  # identical: the stage asks KenLM
    assert first["tokens"] == 6
    assert first["perplexity"] == pytest.approx(10 ** (-expected / 6))
    # By hand: p(a|<s>) p(b|a) p(</s>|b) p(b|<s>) p(a|b) p(</s>|a).
    by_hand = 3 * math.log10(23 / 48) + 3 * math.log10(15 / 48)
    assert first["log_prob"] == pytest.approx(by_hand, abs=1e-5)
    assert rows[1]["perplexity"]["log_prob"] == model.score("a z b", bos=True, eos=True)
    assert rows[2]["perplexity"]["perplexity"] is None and rows[2]["perplexity"]["tokens"] == 0
    assert all(r["perplexity"]["keep"] and r["perplexity"]["no_model"] is False for r in rows)


def test_thresholds_buckets_and_languages_without_a_model(hand_model):
    params = PerplexityParams(
        models={"en": hand_model}, max_perplexity={"en": 4.0}, buckets={"eng": [2.5, 3.5]}, missing_model="keep"
    )
    docs = [
        {"text": "a b\na b", "language": {"lang": "en"}},  # every word likely: perplexity 48/23 ~ 2.09
        {"text": "b a", "language": {"lang": "eng_Latn"}},  # 48/15 = 3.2
        {"text": "a a a a", "language": {"lang": "en"}},  # backs off: far less likely
        {"text": "der die das", "language": {"lang": "de"}},  # no German model
    ]
    rows = [r["perplexity"] for r in run_row_stages([Perplexity(params)], docs)]
    assert [r["bucket"] for r in rows] == ["head", "middle", "tail", None]
    assert rows[0]["perplexity"] == pytest.approx(48 / 23, rel=1e-5)
    assert rows[1]["perplexity"] == pytest.approx(48 / 15, rel=1e-5)
    assert [r["keep"] for r in rows] == [True, True, False, True]
    assert rows[2]["reason"] == "high_perplexity"
    assert rows[3]["no_model"] is True and rows[3]["perplexity"] is None
    removing = PerplexityParams(models={"en": hand_model}, missing_model="remove")
    assert run_row_stages([Perplexity(removing)], docs[3:])[0]["perplexity"]["reason"] == "no_lm_for_language"


def test_config_errors_name_what_is_wrong(hand_model, tmp_path):
    from thresher.conf import load_config

    def stage_error(params: dict) -> str:
        with pytest.raises(ConfigError) as error:
            load_config(data={"input": {"path": "x.jsonl"}, "stages": {"perplexity": params}})
        return str(error.value)

    assert "at least one language" in stage_error({})
    assert "no such model file" in stage_error({"models": {"en": str(tmp_path / "missing.arpa")}})
    not_arpa = tmp_path / "not.arpa"
    not_arpa.write_text("hello\n")
    assert "neither an ARPA file" in stage_error({"models": {"en": str(not_arpa)}})
    assert "no model for ['de']" in stage_error({"models": {"en": hand_model}, "max_perplexity": {"de": 10}})
    assert "head_max" in stage_error({"models": {"en": hand_model}, "buckets": {"en": [5, 2]}})
