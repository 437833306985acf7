"""Each Gopher / C4 / FineWeb rule on short texts written for these tests, run through the fused pass."""

from __future__ import annotations

from typing import Any

import pytest

from thresher.conf import load_config
from thresher.errors import ConfigError
from thresher.stages.base import RowStage
from thresher.stages.fused import run_row_stages
from thresher.stages.quality.c4 import C4Quality, C4QualityParams
from thresher.stages.quality.fineweb import FineWebQuality, FineWebQualityParams
from thresher.stages.quality.gopher import (
    GopherQuality,
    GopherQualityParams,
    GopherRepetition,
    GopherRepetitionParams,
)

GOOD = (
    "The river runs through the old town and past the mill that was built in the last century. "
    "Every spring the water rises with the melting snow, and the people who live near the banks have learned "
    "to move their boats to higher ground. Children play on the bridge while their parents talk about the "
    "weather, the harvest and the price of bread. In the evening the lamps are lit and the streets grow quiet."
)
NO_STOP_WORDS = (
    "Rain fell on quiet hills all night. Farmers watched dark clouds drift east, hoping for clear skies by "
    "morning. Cattle stood under old oaks near fences while dogs slept inside warm barns. Later, bright sun "
    "returned; children ran across wet fields, shouting happily. Grandmother baked fresh bread, filling every "
    "room in her small house, so neighbors came by asking for some."
)
GOOD_LINES = "\n".join(
    [
        "The river runs through the old town and past the mill that was built in the last century.",
        "Every spring the water rises with the melting snow, and people move their boats to higher ground.",
        "Children play on the bridge while their parents talk about the weather and the harvest.",
        "In the evening the lamps are lit and the streets grow quiet again.",
        "Visitors often stay at the inn by the square, where the bread is baked before dawn.",
        "The mill still turns on market days, and the miller explains how the stones grind the grain.",
    ]
)


def run(stage: RowStage, text: str, **columns: Any) -> dict[str, Any]:
    row = run_row_stages([stage], [{"doc_id": "d", "text": text, **columns}], mode="annotate")[0]
    # Annotate mode keeps the input's text; a rewriting stage's output is `rewritten_text`.
    return {**row[stage.id], "text": row.get("rewritten_text", row["text"])}


# -- Gopher quality ---------------------------------------------------------------------------------------


def test_gopher_quality_keeps_ordinary_prose() -> None:
    result = run(GopherQuality(), GOOD)
    assert result["keep"] is True
    assert result["non_symbol_words"] == 75 and result["stop_words"] == 7
    assert 3 < result["mean_word_length"] < 10


@pytest.mark.parametrize(
    ("text", "params", "reason"),
    [
        ("A short note about the river and the mill.", {}, "too_few_words"),
        (GOOD, {"max_doc_words": 40}, "too_many_words"),
        (("I am in it as we go to a bay of the sea and be at ease. " * 6), {}, "short_mean_word_length"),
        (("Extraordinarily incomprehensibilities uncharacteristically the and " * 10), {}, "long_mean_word_length"),
        (GOOD + " #river" * 15, {}, "too_many_hashes"),
        (GOOD + " ... and" * 15, {}, "too_many_ellipses"),
        (
            "\n".join(f"• item {i} of the list and the rest with more words" for i in range(12)),
            {},
            "too_many_bullet_lines",
        ),
        (GOOD.replace(". ", "...\n"), {}, "too_many_ellipsis_lines"),
        (GOOD + " " + " ".join(str(n) for n in range(40)), {}, "too_few_alpha_words"),
        (NO_STOP_WORDS, {}, "too_few_stop_words"),
    ],
)
def test_gopher_quality_rules(text: str, params: dict[str, Any], reason: str) -> None:
    result = run(GopherQuality(GopherQualityParams(**params)), text)
    assert (result["keep"], result["reason"]) == (False, reason)


def test_gopher_quality_rule_can_be_turned_off() -> None:
    text = "A short note about the river and the mill."
    assert run(GopherQuality(GopherQualityParams(min_doc_words=None)), text)["keep"] is True


def test_stop_words_are_whole_case_sensitive_tokens() -> None:
    text = ("There Theatre other bother The THE " * 12) + "and"
    result = run(GopherQuality(), text)
    assert result["stop_words"] == 1 and result["reason"] == "too_few_stop_words"


def test_per_language_parameters_follow_the_language_stage() -> None:
    chinese = "我们在河边的小镇上生活了很多年，每年春天河水都会上涨。" * 2
    overrides = {"min_doc_words": 20, "min_stop_words": None, "min_avg_word_length": None}
    stage = GopherQuality(GopherQualityParams(languages={"zh": overrides}))
    language = {"keep": True, "reason": None, "lang": "zh", "score": 0.99}
    as_chinese = run(stage, chinese, language=language)
    # One word per character: 54 words, not the two pieces a space-based split would find.
    assert as_chinese["words"] == 54 and as_chinese["keep"] is True
    assert run(stage, chinese)["reason"] == "too_few_words"  # default language en: its parameters


def test_per_language_overrides_are_validated() -> None:
    with pytest.raises(ValueError, match=r"languages\.zh: unknown key"):
        GopherQualityParams(languages={"zh": {"min_words": 3}})
    with pytest.raises(ConfigError, match="languages"):
        load_config(
            data={
                "input": {"path": "x.jsonl"},
                "stages": {"gopher_quality": {"languages": {"de": {"max_doc_words": -1}}}},
            }
        )


# -- Gopher repetition ------------------------------------------------------------------------------------


def test_gopher_repetition_keeps_ordinary_prose() -> None:
    result = run(GopherRepetition(), GOOD_LINES)
    assert result["keep"] is True and result["dup_line_frac"] == 0
    assert result["dup_5_gram_char_frac"] == 0


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (GOOD + "\n\n" + "Subscribe to our newsletter.\n\n" * 3 + GOOD_LINES, "dup_para_frac"),
        (GOOD + "\n\n" + GOOD + "\n\nThe end.\n\nOr is it?\n\nWe shall see.", "dup_para_char_frac"),
        ("Share this\n" * 4 + "\n".join(GOOD_LINES.split("\n")[:3]), "dup_line_frac"),
        ("click here " * 30 + GOOD, "top_2_gram"),
        (GOOD + " " + GOOD, "dup_5_gram"),
        ("", "empty"),
    ],
)
def test_gopher_repetition_rules(text: str, reason: str) -> None:
    result = run(GopherRepetition(), text)
    assert (result["keep"], result["reason"]) == (False, reason)


def test_gopher_repetition_n_grams_are_configurable() -> None:
    stage = GopherRepetition(GopherRepetitionParams(top_n_grams={2: 0.2}, dup_n_grams={12: 0.1}))
    names = [f.name for f in stage.signal_fields()]
    assert "top_2_gram_char_frac" in names and "dup_12_gram_char_frac" in names and "top_3_gram_char_frac" not in names
    with pytest.raises(ValueError, match="between 1 and 32"):
        GopherRepetitionParams(dup_n_grams={0: 0.1})


# -- C4 ---------------------------------------------------------------------------------------------------


def test_c4_removes_lines_and_rewrites_the_document() -> None:
    text = "\n".join(
        [
            "Home | About | Contact",
            GOOD_LINES,
            "Please enable JavaScript in your browser to see the map.",
            "By using this site you agree to our privacy policy and terms of use.",
            "Read more...",
            "Too short.",
            "The census counted the villagers in the spring.[1] It was the first count.[citation needed]",
            "See " + "x" * 1001 + " for details.",
        ]
    )
    result = run(C4Quality(), text)
    assert result["keep"] is True
    kept = result["text"].split("\n")
    assert kept == [*GOOD_LINES.split("\n"), "The census counted the villagers in the spring. It was the first count."]
    assert (result["lines_no_terminal_punct"], result["lines_too_few_words"]) == (2, 1)
    assert (result["lines_javascript"], result["lines_policy"], result["lines_long_word"]) == (1, 1, 1)
    assert result["lines_kept"] == 7 and result["sentences"] == 8
    assert 0 < result["removed_word_frac"] < 0.5
    assert result["chars_after"] == len(result["text"]) < result["chars_before"] == len(text)


@pytest.mark.parametrize(
    ("text", "params", "reason"),
    [
        (GOOD_LINES + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.", {}, "lorem_ipsum"),
        (GOOD_LINES + "\nThe function returns {value} when it is called.", {}, "curly_bracket"),
        ("One short sentence here.\nAnd another one here.\nNavigation menu", {}, "too_few_sentences"),
        (GOOD_LINES + "\nMenu\nLogin\nSearch\n" * 30, {"max_removed_fraction": 0.05}, "too_much_removed"),
        ("no punctuation at all here\nnor here", {"min_num_sentences": 0}, "empty_after_line_removal"),
    ],
)
def test_c4_document_rules(text: str, params: dict[str, Any], reason: str) -> None:
    result = run(C4Quality(C4QualityParams(**params)), text)
    assert (result["keep"], result["reason"]) == (False, reason)


def test_c4_document_rules_only_look_at_lines_that_survive_line_rules() -> None:
    # The curly bracket is on a javascript line (removed first), lorem ipsum on a line without punctuation.
    text = GOOD_LINES + "\nvar x = {a: 1}; // javascript needs this.\nlorem ipsum dolor sit amet"
    assert run(C4Quality(), text)["keep"] is True


def test_c4_switches() -> None:
    text = GOOD_LINES + "\nThis line has no final punctuation\nAnother without"
    kept = run(C4Quality(C4QualityParams(filter_no_terminal_punct=False)), text)
    assert kept["text"].endswith("Another without") is False  # two words: too few per line
    assert "This line has no final punctuation" in kept["text"]


# -- FineWeb ----------------------------------------------------------------------------------------------


def test_fineweb_keeps_ordinary_prose() -> None:
    result = run(FineWebQuality(), GOOD_LINES)
    assert result["keep"] is True and result["line_punct_ratio"] == 1.0 and result["char_dup_ratio"] == 0.0


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("\n".join(f"Menu entry number {i} without any ending" for i in range(10)), "line_punct_ratio"),
        (GOOD_LINES + "\n" + "\n".join(f"Item {i}." for i in range(20)), "short_line_ratio"),
        (GOOD_LINES + "\nThe mill still turns on market days, and the miller explains.\n" * 2, "char_dup_ratio"),
        ("\n".join(f"Pneumonoultramicroscopicsilicovolcanoconiosis{i}." for i in range(8)), "list_ratio"),
        ("\n \n\t\n", "empty"),
    ],
)
def test_fineweb_rules(text: str, reason: str) -> None:
    result = run(FineWebQuality(), text)
    assert (result["keep"], result["reason"]) == (False, reason)


def test_fineweb_line_punct_exclude_zero() -> None:
    text = "\n".join(f"Menu entry number {i} without any ending" for i in range(10))
    result = run(FineWebQuality(FineWebQualityParams(line_punct_exclude_zero=True, short_line_thr=1)), text)
    assert result["reason"] != "line_punct_ratio"


# -- shared pass ------------------------------------------------------------------------------------------


def test_the_four_rule_sets_share_one_analysis_per_document(monkeypatch: pytest.MonkeyPatch) -> None:
    from thresher.text import analysis

    created: list[str] = []
    original = analysis.DocAnalysis.__init__

    def counting(self: analysis.DocAnalysis, text: str) -> None:
        created.append(text)
        original(self, text)

    monkeypatch.setattr(analysis.DocAnalysis, "__init__", counting)
    docs = [{"text": GOOD_LINES}, {"text": GOOD + "\n\n" + GOOD}]
    stages = [GopherRepetition(), GopherQuality(), FineWebQuality(), C4Quality()]
    rows = run_row_stages(stages, docs, mode="annotate")
    assert len(created) == 2  # c4_quality runs last: its rewrite comes after the others
    assert all(r["gopher_quality"]["keep"] is not None for r in rows)
    created.clear()
    run_row_stages([C4Quality(), FineWebQuality()], [{"text": GOOD_LINES + "\nMenu"}], mode="annotate")
    assert len(created) == 2  # fineweb_quality sees the rewritten text: a new analysis


def test_c4_counts_sentences_as_the_reference_with_odd_whitespace() -> None:
    # A run of spaces after a period is a token that starts a sentence for the reference's sentence splitter.
    stage = C4Quality(C4QualityParams(min_num_sentences=0))
    assert run(stage, "One sentence.  . Two three four.")["sentences"] == 3
    assert run(stage, "One sentence. . Two three four.")["sentences"] == 2
    assert run(stage, "One sentence.\u00a0Two three four.")["sentences"] == 2


def test_huge_and_degenerate_documents_go_through_all_rule_sets() -> None:
    stages = [GopherRepetition(), GopherQuality(), FineWebQuality(), C4Quality()]
    docs = [
        {"text": "word " * 200_000},  # one 1 MB line
        {"text": "\n".join(f"Line {i} of a very long list." for i in range(20_000))},
        {"text": "\u0000\u200b\ufeff" * 1000},  # invisible characters only
        {"text": "!!!???...,,," * 5000},
        {"text": "🙂" * 10_000},
    ]
    rows = run_row_stages(stages, docs, mode="annotate")
    for row in rows:
        for stage in stages:
            result = row[stage.id]
            assert result["keep"] is not None
            assert not (result["reason"] or "").startswith("stage_error")
    assert rows[0]["gopher_repetition"]["reason"] == "top_2_gram"
    assert rows[1]["gopher_quality"]["reason"] == "too_many_words"
    assert rows[2]["gopher_quality"]["reason"] == "too_few_words"
