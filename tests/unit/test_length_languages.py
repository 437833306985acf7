"""`length` bounds per document language, through the `languages:` mechanism of the rule stages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from thresher.stages.fused import run_row_stages
from thresher.stages.length import Length, LengthParams

CHINESE = "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。"
ENGLISH = "All human beings are born free and equal in dignity and rights."


def _reasons(params: LengthParams, docs: list[tuple[str, str | None]]) -> list[str | None]:
    rows = [{"text": text, "language": {"lang": lang}} for text, lang in docs]
    return [r["length"]["reason"] for r in run_row_stages([Length(params)], rows)]


def test_each_language_gets_its_own_bounds():
    # One whitespace "word" of Chinese: min_words would drop it; Chinese counts characters instead.
    params = LengthParams(min_words=5, languages={"zh": {"min_words": 0, "min_chars": 30}})
    docs = [(CHINESE, "zh"), (CHINESE, "cmn"), (CHINESE[:20], "zh"), (ENGLISH, "en"), ("Too short here.", "en")]
    assert _reasons(params, docs) == [None, None, "too_few_chars", None, "too_few_words"]
    # Without the language stage, documents are in default_language.
    assert _reasons(
        LengthParams(min_words=5, default_language="zh", languages={"zh": {"min_words": 0}}), [(CHINESE, None)]
    ) == [None]


def test_length_refuses_per_language_settings_it_would_ignore():
    # No preset has length values and length counts whitespace words: neither key exists.
    for key, value in (("preset", "fineweb2"), ("segmentation", "dictionary")):
        with pytest.raises(ValidationError, match=key):
            LengthParams.model_validate({key: value})
    with pytest.raises(ValidationError, match=r"languages\.zh: unknown key"):
        LengthParams(languages={"zh": {"min_word": 1}})
    with pytest.raises(ValidationError, match="max_chars 5 < min_chars 10"):
        LengthParams(languages={"fr": {"min_chars": 10, "max_chars": 5}})
