"""Per-language parameters of the quality stages and the language of each document.

A document's language is `language.lang`, written by the `language` stage when it ran earlier in the
pipeline, else the stage's `default_language`. It picks the word splitter (languages written without spaces
count one word per character) and the parameters: the stage's own, then a `preset`'s values for the language
(`fineweb2`: FineWeb-2's published settings for 1,929 languages; or a settings file from `thresher calibrate`),
then the overrides under `languages:`. Codes match across spellings: 'fr', 'fra' and 'fra_Latn' are one language.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from thresher.core.languages import LANGUAGE_COLUMN
from thresher.stages.base import StageParams
from thresher.stages.fused import DocBatch
from thresher.stages.quality._codes import require_known_codes
from thresher.stages.quality._presets import LanguageSettings, load_settings, validate_preset
from thresher.text.langcodes import preferred
from thresher.text.segmenters import MissingSegmenterError, check_installed
from thresher.text.words import SEGMENTATIONS, base_language

_NOT_IN_PRESET = object()


def language_keys(code: str) -> tuple[str, str]:
    """Where a document language finds its `languages:` override: under the language's own code (ISO 639-1 where
    one exists, else 639-3; any spelling, scripts ignored), else under its macrolanguage's ('cmn' -> 'zh')."""
    return preferred(code), base_language(code)


class LanguageOverrides(StageParams):
    """Parameters that differ per document language, under `languages:` (the base of `PerLanguageParams`, for
    stages without preset values or word segmentation, such as `length`)."""

    default_language: str = Field(
        default="en", description="Language of documents without `language.lang` (the language stage did not run)."
    )
    languages: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Language code -> parameters that differ for documents in that language, e.g. "
        "{zh: {min_doc_words: 100}}; they win over the preset's values.",
    )

    _overrides: dict[str, Any] = PrivateAttr(default_factory=dict)
    _preset_params: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def preset_name(self) -> str | None:
        return None

    @model_validator(mode="after")
    def _parse_languages(self) -> Self:
        settings = self.settings()
        in_preset = (lambda code: settings.key(code) is not None) if settings is not None else None
        require_known_codes([self.default_language], "default_language", in_preset)
        require_known_codes(self.languages, "languages", in_preset)
        fixed = ("languages", "default_language", "preset", "segmentation")
        allowed = [k for k in type(self).model_fields if k not in fixed]
        for code, override in self.languages.items():
            unknown = [k for k in override if k not in allowed]
            if unknown:
                raise ValueError(f"languages.{code}: unknown key(s) {unknown}; allowed: {', '.join(allowed)}")
            try:
                self._overrides[preferred(code)] = self._variant(code, override)
            except ValidationError as error:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
                raise ValueError(f"languages.{code}: {problems}") from None
        return self

    def settings(self) -> LanguageSettings | None:
        return load_settings(self.preset_name) if self.preset_name else None

    def _preset_values(self, code: str) -> dict[str, Any]:
        settings = self.settings()
        key = settings.key(code) if settings is not None else None
        if key is None:
            return {}
        fields = type(self).model_fields
        return {k: v for k, v in settings.stage_values(key).items() if k in fields}  # type: ignore[union-attr]

    def _variant(self, code: str, override: dict[str, Any]) -> Self:
        base = self.model_dump(exclude={"languages", "preset"})
        return type(self).model_validate({**base, **self._preset_values(code), **override})

    def for_language(self, language: str) -> Self:
        """The parameters for documents in `language`."""
        if self._overrides:
            for key in language_keys(language):
                found = self._overrides.get(key)
                if found is not None:
                    return found
        if self.preset_name is None:
            return self
        found = self._preset_params.get(language, _NOT_IN_PRESET)
        if found is _NOT_IN_PRESET:
            found = self._variant(language, {}) if self._preset_values(language) else self
            self._preset_params[language] = found
        return found

    def values_of(self, name: str) -> list[Any]:
        """The values parameter `name` takes across languages: the stage's own, the overrides' and the preset's
        (read from the settings, without building 1,929 parameter sets)."""
        out = [getattr(self, name), *(getattr(o, name) for o in self._overrides.values())]
        settings = self.settings()
        if settings is not None:
            out += [v[name] for key in settings.values if name in (v := settings.stage_values(key))]
        return out


class PerLanguageParams(LanguageOverrides):
    preset: str | None = Field(
        default=None,
        description="Per-language settings applied under `languages:`: 'fineweb2' (FineWeb-2's published "
        "thresholds and stop words for 1,929 languages, ODC-By) or a settings file written by `thresher calibrate`.",
    )

    segmentation: str = Field(
        default="characters",
        description="Words of languages written without spaces: 'characters' (one word per character) or "
        "'dictionary' (rjieba for Chinese, MeCab/UniDic-lite for Japanese, pythainlp for Thai, laonlp for Lao, "
        "khmer-nltk for Khmer, and Kiwi's morphemes for Korean, as FineWeb-2 counts Korean words: the `multilingual` "
        "extra; Burmese stays one word per character, Tibetan one word per syllable).",
    )

    @property
    def preset_name(self) -> str | None:
        return self.preset

    @field_validator("segmentation")
    @classmethod
    def _segmenters_installed(cls, value: str) -> str:
        if value not in SEGMENTATIONS:
            raise ValueError(f"unknown segmentation {value!r}; allowed: {', '.join(SEGMENTATIONS)}")
        if value == "dictionary":
            try:
                check_installed()
            except MissingSegmenterError as error:
                raise ValueError(str(error)) from None
        return value

    _preset_exists = field_validator("preset")(validate_preset)


def doc_languages(batch: DocBatch, default: str) -> list[str]:
    """Each document's language: `language.lang` where the language stage set it, else `default`."""
    try:
        values = batch.column(LANGUAGE_COLUMN)
    except KeyError:
        return [default] * len(batch)
    return [value or default for value in values]
