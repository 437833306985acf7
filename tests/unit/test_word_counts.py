"""The byte-level word count agrees with len(str.split()) for every character and on real multilingual text."""

from __future__ import annotations

import gzip
import itertools
import json
import sys

import numpy as np
import pyarrow as pa
import pytest

from tests.conftest import shared_corpus
from thresher.text.word_counts import whitespace_word_counts


def _python_counts(texts: list[str | None]) -> np.ndarray:
    return np.array([len(t.split()) if t is not None else 0 for t in texts], dtype=np.int64)


def test_every_code_point_splits_as_str_split() -> None:
    characters = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    # Between letters, and doubled at the edges after a wide character (whose bytes must not be misread).
    texts = [form for c in characters for form in (f"a{c}b", f"{c}\u3042{c} {c}{c}")]
    counts, valid = whitespace_word_counts(pa.array(texts, pa.string()))
    expected = _python_counts(texts)
    wrong = np.flatnonzero(counts != expected)
    assert not len(wrong), [(texts[i], counts[i], expected[i]) for i in wrong[:5]]
    assert valid.all()


def test_nulls_empties_slices_and_layouts() -> None:
    texts = [None, "", " ", "one", "  two words\u00a0here\u2003", None, "\x1c\x1fa\x1db", "\u3000", "tab\tend\n"]
    expected = _python_counts(texts)
    array = pa.array(texts, pa.string())
    for layout in (array, array.cast(pa.large_string()), pa.chunked_array([array[:4], array[4:]])):
        counts, valid = whitespace_word_counts(layout)
        assert counts.tolist() == expected.tolist()
        assert valid.tolist() == [t is not None for t in texts]
    counts, valid = whitespace_word_counts(array[3:7])  # a slice starts inside the buffers
    assert counts.tolist() == expected[3:7].tolist()
    assert whitespace_word_counts(pa.array([], pa.string()))[0].tolist() == []
    assert whitespace_word_counts(pa.array([None, None], pa.string()))[0].tolist() == [0, 0]
    with pytest.raises(TypeError, match="string array"):
        whitespace_word_counts(pa.array([1, 2]))


def test_udhr_in_every_language() -> None:
    path = shared_corpus("multilingual/udhr_all.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    counts, _ = whitespace_word_counts(pa.array(texts, pa.string()))
    assert counts.tolist() == _python_counts(texts).tolist()


def test_value_bytes_of_every_layout() -> None:
    from thresher.text.arrow_bytes import value_bytes

    values = ["ab", None, "", "ü€", "xyz"]
    for array in (pa.array(values, t) for t in (pa.string(), pa.large_string(), pa.binary(), pa.large_binary())):
        for piece, expected in ((array, values), (array[1:4], values[1:4])):
            data, offsets = value_bytes(piece)
            got = [data[a:b].tobytes().decode() for a, b in itertools.pairwise(offsets)]
            assert got == [v or "" for v in expected]
    data, offsets = value_bytes(pa.array([], pa.string()))
    assert len(data) == 0 and offsets.tolist() == [0]
    with pytest.raises(TypeError, match="string or binary"):
        value_bytes(pa.array([1]))


def test_word_counts_of_python_strings_and_the_surrogate_fallback() -> None:
    from thresher.text.word_counts import word_counts_of

    texts = ["", " a  b ", "one\u2003two\u3000three\x1cfour", "\U0001f600 x"]
    assert word_counts_of(texts) == [len(t.split()) for t in texts] == [0, 2, 4, 2]
    # A lone surrogate cannot be UTF-8: every text of the call is then counted by str.split.
    assert word_counts_of(["lone \ud800 surrogate", "two words"]) == [3, 2]
    assert word_counts_of([]) == []
