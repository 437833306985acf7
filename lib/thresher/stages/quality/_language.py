"""Per-language parameters of the quality stages and the language of each document.

A document's language is `language.lang`, written by the `language` stage when it ran earlier in the
pipeline, else the stage's `default_language`. It picks the word splitter (languages written without spaces
count one word per character) and the parameter overrides under `languages:`.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, PrivateAttr, ValidationError, model_validator

from thresher.core.languages import LANGUAGE_COLUMN
from thresher.stages.base import StageParams
from thresher.stages.fused import DocBatch
from thresher.text.words import base_language


class PerLanguageParams(StageParams):
    default_language: str = Field(
        default="en",
        description="Language code of documents without a `language.lang` from an earlier `language` stage "
        "(its parameters apply to them).",
    )
    # Language code -> parameters that differ for documents in that language, e.g. {zh: {min_doc_words: 100}}.
    languages: dict[str, dict[str, Any]] = Field(default_factory=dict)

    _overrides: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _parse_languages(self) -> Self:
        allowed = [k for k in type(self).model_fields if k not in ("languages", "default_language")]
        base = self.model_dump(exclude={"languages"})
        for code, override in self.languages.items():
            unknown = [k for k in override if k not in allowed]
            if unknown:
                raise ValueError(f"languages.{code}: unknown key(s) {unknown}; allowed: {', '.join(allowed)}")
            try:
                self._overrides[base_language(code)] = type(self).model_validate({**base, **override})
            except ValidationError as error:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
                raise ValueError(f"languages.{code}: {problems}") from None
        return self

    def for_language(self, language: str) -> Self:
        """The parameters for documents in `language`."""
        if not self._overrides:
            return self
        return self._overrides.get(base_language(language), self)


def doc_languages(batch: DocBatch, default: str) -> list[str]:
    """Each document's language: `language.lang` where the language stage set it, else `default`."""
    try:
        values = batch.column(LANGUAGE_COLUMN)
    except KeyError:
        return [default] * len(batch)
    return [value or default for value in values]
