"""The word splitter and sentence counter: spaCy-compatible rules (the expected tokens below are what spaCy 3.8's
English tokenizer and sentencizer produce for these sentences), and languages written without spaces."""

from __future__ import annotations

import pytest

from thresher.text.chars import HAS_ALPHA, NOT_SYMBOL, PUNCTUATION, TERMINAL, token_flags
from thresher.text.sentences import count_sentences, sentence_flags, sentences_per_line
from thresher.text.words import AffixSplitter, TokenTable, base_language, word_splitter

EN = word_splitter("en")

CASES = [
    (
        "Don't split U.S. or Mr. Smith's e-mail!",
        ["Do", "n't", "split", "U.S.", "or", "Mr.", "Smith", "'s", "e", "-", "mail", "!"],
        1,
    ),
    (
        "Visit https://example.com/path?q=1, then email me.",
        ["Visit", "https://example.com/path?q=1", ",", "then", "email", "me", "."],
        1,
    ),
    (
        "Prices rose 5% to $3.50 (about 10km away)...",
        ["Prices", "rose", "5", "%", "to", "$", "3.50", "(", "about", "10", "km", "away", ")", "..."],
        1,
    ),
    (
        "well-known state-of-the-art 3-D models; 1-2 days",
        [
            "well",
            "-",
            "known",
            "state",
            "-",
            "of",
            "-",
            "the",
            "-",
            "art",
            "3",
            "-",
            "D",
            "models",
            ";",
            "1",
            "-",
            "2",
            "days",
        ],
        1,
    ),
    ("end.Next sentence and/or w/o :) ok", ["end", ".", "Next", "sentence", "and/or", "w/o", ":)", "ok"], 2),
    ("I'm gonna go, can't stop", ["I", "'m", "gon", "na", "go", ",", "ca", "n't", "stop"], 1),
    ("(a.) b.) hello...", ["(", "a.", ")", "b.", ")", "hello", "..."], 1),
    ("CAPS. J. K. Rowling", ["CAPS", ".", "J.", "K.", "Rowling"], 2),
    ("5pm 10a.m. 3:30", ["5", "pm", "10", "a.m.", "3:30"], 1),
    ("«Bonjour», dit-il.", ["«", "Bonjour", "»", ",", "dit", "-", "il", "."], 1),
    (
        'He said "Stop." Then he left! Really?! Yes... maybe. Dr. Who is here.',
        [
            "He",
            "said",
            '"',
            "Stop",
            ".",
            '"',
            "Then",
            "he",
            "left",
            "!",
            "Really",
            "?",
            "!",
            "Yes",
            "...",
            "maybe",
            ".",
            "Dr.",
            "Who",
            "is",
            "here",
            ".",
        ],
        5,
    ),
]


@pytest.mark.parametrize(("text", "tokens", "sentences"), CASES)
def test_english_tokens_and_sentences(text: str, tokens: list[str], sentences: int) -> None:
    assert EN.split(text) == tokens
    assert count_sentences(map(token_flags, EN.split(text))) == sentences


def test_whitespace_is_never_part_of_a_token_and_lines_do_not_matter() -> None:
    text = "First line here.\n\n  Second\tline\u00a0with  spaces.\r\nThird"
    assert EN.split(text) == ["First", "line", "here", ".", "Second", "line", "with", "spaces", ".", "Third"]
    assert EN.split("") == [] and EN.split(" \n\t ") == []


def test_contractions_without_apostrophe_but_not_real_words() -> None:
    assert EN.split("dont cant im its well were") == ["do", "nt", "ca", "nt", "i", "m", "its", "well", "were"]
    assert EN.split("They’re here, aren’t they?") == ["They", "’re", "here", ",", "are", "n’t", "they", "?"]


def test_generic_splitter_has_no_english_special_cases() -> None:
    generic = word_splitter("de")
    assert generic.split("Don't") == ["Don't"]
    assert generic.split("l'école, c'est ça.") == ["l'école", ",", "c'est", "ça", "."]


def test_unsegmented_languages_count_one_word_per_character() -> None:
    zh = word_splitter("zh")
    assert zh.split("我爱Python编程。") == ["我", "爱", "Python", "编", "程", "。"]
    # Thai vowel and tone marks stay with their consonant.
    assert word_splitter("th").split("สวัสดี") == ["ส", "วั", "ส", "ดี"]
    assert word_splitter("ja").split("東京タワー") == ["東", "京", "タ", "ワ", "ー"]
    assert word_splitter("zho_Hans") is zh


def test_language_codes() -> None:
    assert base_language("eng_Latn") == "en"
    assert base_language("en-US") == "en"
    assert base_language("cmn") == "zh"
    assert base_language("pt_BR") == "pt"


def test_huge_pieces_and_odd_unicode_do_not_break_the_splitter() -> None:
    blob = "x" * 200_000
    assert EN.split(f"see {blob}.") == ["see", blob, "."]
    many = "(" * 50_000 + "word" + ")" * 50_000
    tokens = EN.split(many)
    assert tokens.count("(") == 50_000 and "word" in tokens and len(tokens) == 100_001
    odd = "zero\u200bwidth e\u0301t\u00e9 \U0001f600smile \ufffd"
    assert EN.split(odd) == ["zero\u200bwidth", "e\u0301t\u00e9", "\U0001f600", "smile", "\ufffd"]


def test_token_table_interns_and_resets_between_documents(monkeypatch: pytest.MonkeyPatch) -> None:
    splitter = AffixSplitter("test", {})
    first = splitter.split_ids("a b a")
    assert first[0] == first[2] != first[1]
    assert splitter.table.strings[first[1]] == "b"
    old_table = splitter.table
    monkeypatch.setattr("thresher.text.words._MAX_TOKENS", 1)
    splitter.split_ids("c d")
    assert splitter.table is not old_table and old_table.strings[first[1]] == "b"


def test_token_flags() -> None:
    assert token_flags("word") == NOT_SYMBOL | HAS_ALPHA
    assert token_flags("...") == PUNCTUATION
    assert token_flags(".") == PUNCTUATION | TERMINAL
    assert token_flags("£") == NOT_SYMBOL  # not in the Gopher symbol set, not punctuation
    assert token_flags("42") == NOT_SYMBOL
    table = TokenTable()
    assert table.flags[table.intern("?")] == PUNCTUATION | TERMINAL
    assert table.lengths[table.intern("hello")] == 5


def test_sentences_per_line_matches_counting_each_line() -> None:
    lines = ["One. Two. Three.", "", "no end", ". Leading terminal", "Wait... what? Yes!", "(Really.) Sure."]
    table = EN.table
    ids, counts = [], []
    for line in lines:
        line_ids = EN.split_ids(line)
        ids += line_ids
        counts.append(len(line_ids))
    import numpy as np

    flags = EN.table.flags[np.array(ids, dtype=np.int64)] if ids else np.zeros(0, dtype=np.uint8)
    per_line = sentences_per_line(flags, np.array(counts)).tolist()
    assert per_line == [count_sentences(sentence_flags(EN, line)) for line in lines] == [3, 0, 1, 2, 2, 2]
    assert table is EN.table


def test_whitespace_runs_start_sentences_as_in_the_reference() -> None:
    # A run of spaces other than one space is a token for the sentence splitter.
    assert count_sentences(sentence_flags(EN, "15.  }")) == 2
    assert count_sentences(sentence_flags(EN, "15. }")) == 1
    assert count_sentences(sentence_flags(EN, "One.\u00a0. Two.")) == 3
    assert count_sentences([]) == 0
