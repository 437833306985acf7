"""Words of a whole batch (Arrow split, distinct pieces once) equal the words of each document split on its own."""

from __future__ import annotations

import gzip
import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tests.conftest import shared_corpus
from thresher.text.analysis import DocAnalysis, prepare_line_piece_counts, prepare_words
from thresher.text.batch_words import split_batch, whitespace_free_strings
from thresher.text.words import word_splitter

_EDGES = [
    "",
    " ",
    "\n\n \t",
    "word",
    "  leading and trailing  ",
    "Mr. Smith's (re-)test: 3.5km, U.S.A. -- don't!\nhttp://example.com/a?b=c \u2026",
    "lines\r\nof\x0bsorts\x0cand\x1cseparators\x1d\x1e\x85\u2028\u2029end\x1f.",
    "no\u00a0break\u2003em\u3000ideographic \u200bzero-width",
    "\U0001f600 emoji\U0001f44d\U0001f3fd and \U00010348 gothic",
    "中文没有空格。日本語もです。 ภาษาไทย",
    "l'homme aujourd'hui qu’il",
]


def _per_document(texts: list[str], language: str) -> list[list[int]]:
    splitter = word_splitter(language)
    return [splitter.split_ids(text) for text in texts]


def _batched(texts: list[str], language: str) -> list[list[int]]:
    batch = split_batch(texts, word_splitter(language))
    offsets = batch.token_offsets.tolist()
    return [batch.token_ids[offsets[i] : offsets[i + 1]].tolist() for i in range(len(texts))]


def _as_strings(ids: list[list[int]], language: str) -> list[list[str]]:
    strings = word_splitter(language).table.strings
    return [[strings[i] for i in doc] for doc in ids]


@pytest.mark.parametrize("language", ["en", "fr", "zh", "th"])
def test_batch_equals_one_document_at_a_time(language: str) -> None:
    texts = _EDGES * 3
    assert _as_strings(_batched(texts, language), language) == _as_strings(_per_document(texts, language), language)


def test_every_code_point_is_whitespace_or_not_as_str_split() -> None:
    """The premise: Arrow's whitespace split, its empty edge pieces dropped, is `str.split()` on every code point."""
    characters = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    texts = [f"a{c}b {c}" for c in characters]
    pieces = pc.utf8_split_whitespace(pa.array(texts)).to_pylist()
    wrong = [
        (hex(ord(c)), p) for c, p, t in zip(characters, pieces, texts, strict=True) if [x for x in p if x] != t.split()
    ]
    assert not wrong, wrong[:5]
    spaces = [c for c in characters if c.isspace()]
    sample = [f"a{c}b {c}" for c in spaces + characters[:: len(characters) // 500]]
    assert _as_strings(_batched(sample, "en"), "en") == _as_strings(_per_document(sample, "en"), "en")


def test_pieces_line_up_with_str_split() -> None:
    texts = _EDGES
    batch = split_batch(texts, word_splitter("en"))
    splitter = word_splitter("en")
    for i, text in enumerate(texts):
        expected = [len(ids) for ids in splitter.split_pieces(text.split())]
        low, high = batch.piece_offsets[i], batch.piece_offsets[i + 1]
        assert batch.tokens_per_piece[low:high].tolist() == expected, text


def test_prepared_analyses_equal_the_lazy_ones() -> None:
    texts = [*_EDGES, "One. Two! Three?\nfour five six.\n\n  Seven... eight", "a b\u2028c. d"]
    splitter = word_splitter("en")
    lazy = [DocAnalysis(text) for text in texts]
    prepared = [DocAnalysis(text) for text in texts]
    prepare_words(prepared, splitter)
    prepare_line_piece_counts(prepared)
    assert [a.line_piece_counts for a in prepared] == [
        [len(line.split()) for line in text.splitlines()] for text in texts
    ]
    for one, other in zip(lazy, prepared, strict=True):
        expected, got = one.words(splitter), other.words(splitter)
        for field in ("ids", "lengths", "flags", "cumulative"):
            assert np.array_equal(getattr(expected, field), getattr(got, field)), (field, one.text)
        assert expected.id_list == got.id_list
        assert np.array_equal(one.line_sentences(splitter), other.line_sentences(splitter)), one.text


def test_a_text_arrow_cannot_hold_is_left_to_the_lazy_path() -> None:
    splitter = word_splitter("en")
    analyses = [DocAnalysis("fine text"), DocAnalysis("lone \ud800 surrogate")]
    prepare_words(analyses, splitter)
    assert [len(a.words(splitter)) for a in analyses] == [2, 3]


def test_whitespace_free_strings() -> None:
    values = ["", "a", "ünï", "\U0001f600", "", "中文", "x"]
    for array in (pa.array(values), pa.array(values, pa.large_string()), pa.array(["skip", *values])[1:]):
        assert whitespace_free_strings(array) == values
    assert whitespace_free_strings(pa.array([], pa.string())) == []


def test_the_udhr_in_every_language() -> None:
    path = shared_corpus("multilingual/udhr_all.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    for language in ("en", "ja"):
        assert _as_strings(_batched(texts, language), language) == _as_strings(
            _per_document(texts, language), language
        )


def test_the_space_token_check_agrees_with_its_patterns_on_every_code_point() -> None:
    from thresher.text.sentences import _SPACE_TOKEN, _SPACE_TOKEN_AFTER_TERMINAL, has_space_tokens

    def by_the_patterns(line: str) -> bool:
        text = line.strip()
        return _SPACE_TOKEN.search(text) is not None and _SPACE_TOKEN_AFTER_TERMINAL.search(text) is not None

    lines = [f"a.{chr(c)}b " for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    lines += ["a.  b", "a. b", "a!\u3000b", " a. b ", "a.\tb"]
    wrong = [line for line in lines if has_space_tokens(line) != by_the_patterns(line)]
    assert not wrong, wrong[:5]
    assert sum(map(has_space_tokens, lines)) > 20


def test_the_document_space_check_agrees_with_its_pattern_on_every_ascii_text_shape() -> None:
    from thresher.text.sentences import _INNER_SPACE, may_have_space_tokens

    texts = [f"a{chr(c)}b\nc{chr(d)}" for c in range(128) for d in range(128)] + ["", " ", "  ", "x \n y"]
    assert [may_have_space_tokens(t) for t in texts] == [_INNER_SPACE.search(t) is not None for t in texts]
