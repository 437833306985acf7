"""`perplexity`: per-document perplexity under an n-gram language model of the document's language (CCNet).

Each document is scored line by line with the KenLM model of its language (`language.lang` when the language
stage ran earlier, else `default_language`): lines are normalized and tokenized as the model's training text
was (`thresher.text.lm_tokens`), each line is one sentence with <s> and </s>, and the document's perplexity is
10^(-log10 p / tokens) over all its lines (tokens count one </s> per line), as in CCNet. Models are ARPA files
written by `thresher train-lm` (or any KenLM ARPA/binary model whose tokens match), loaded once per Python
worker. CCNet's head / middle / tail buckets come from per-language perplexity cut-offs (CCNet: the 30th and
60th percentiles of the language's documents), and `max_perplexity` removes documents above a bound.

Documents in a language without a model are kept with null perplexity and `no_model` true (counted in the
stage's statistics), or removed with reason `no_lm_for_language` when `missing_model: remove`.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pyspark.sql.types import BooleanType, DoubleType, LongType, StringType, StructField

from thresher.io import fs
from thresher.models.ngram_lm import check_model_file, load_kenlm, perplexity, read_summary, score_document
from thresher.stages.base import ConfigPath, RowStage, StageParams, StageResult, worker_resource
from thresher.stages.fused import DocBatch
from thresher.stages.quality._language import doc_languages
from thresher.stages.registry import register
from thresher.text.words import base_language

HIGH_PERPLEXITY = "high_perplexity"
NO_MODEL = "no_lm_for_language"
HEAD, MIDDLE, TAIL = "head", "middle", "tail"


class PerplexityParams(StageParams):
    models: dict[str, ConfigPath] = Field(
        default_factory=dict,
        validate_default=True,
        description=(
            "Language code -> KenLM model (ARPA from `thresher train-lm`, or a KenLM binary; local path or URI). "
            "Documents are matched by their language's base code (en_Latn, eng -> en)."
        ),
    )
    default_language: str = Field(
        default="en", description="Language of documents without `language.lang` (no language stage before)."
    )
    max_perplexity: dict[str, float] = Field(
        default_factory=dict,
        description="Language code -> highest perplexity kept; documents above are removed (`high_perplexity`).",
    )
    buckets: dict[str, list[float]] = Field(
        default_factory=dict,
        description=(
            "Language code -> [head_max, middle_max] perplexity cut-offs: head <= head_max < middle <= middle_max "
            "< tail (CCNet: the 30th and 60th percentiles of the language's documents; see the README)."
        ),
    )
    missing_model: Literal["keep", "remove"] = Field(
        default="keep",
        description="Documents in a language without a model: kept with null perplexity, or removed.",
    )

    @field_validator("models")
    @classmethod
    def _models_load(cls, models: dict[str, str]) -> dict[str, str]:
        if not models:
            raise ValueError("required: at least one language -> model path (train one with `thresher train-lm`)")
        from thresher.models.ngram_lm import MISSING_EXTRA

        try:
            import kenlm  # noqa: F401
        except ImportError:
            raise ValueError(MISSING_EXTRA) from None
        codes = [base_language(code) for code in models]
        if len(set(codes)) != len(codes):
            raise ValueError(f"{sorted(models)}: two models for the same language")
        for code, path in models.items():
            check_model_file(path)
            trained_for = (read_summary(path) or {}).get("language")
            if trained_for and base_language(trained_for) != base_language(code):
                raise ValueError(f"{code}: {path} was trained for language {trained_for!r}")
        return {base_language(code): path for code, path in models.items()}

    @field_validator("buckets")
    @classmethod
    def _two_increasing_cutoffs(cls, buckets: dict[str, list[float]]) -> dict[str, list[float]]:
        for code, cutoffs in buckets.items():
            if len(cutoffs) != 2 or not 0 < cutoffs[0] <= cutoffs[1]:
                raise ValueError(f"buckets.{code}: {cutoffs}: give [head_max, middle_max], 0 < head_max <= middle_max")
        return {base_language(code): cutoffs for code, cutoffs in buckets.items()}

    @field_validator("max_perplexity")
    @classmethod
    def _positive_bounds(cls, bounds: dict[str, float]) -> dict[str, float]:
        for code, bound in bounds.items():
            if not bound > 0:
                raise ValueError(f"max_perplexity.{code}: {bound}: must be positive")
        return {base_language(code): bound for code, bound in bounds.items()}

    @model_validator(mode="after")
    def _settings_for_modelled_languages(self) -> PerplexityParams:
        for name, setting in (("max_perplexity", self.max_perplexity), ("buckets", self.buckets)):
            orphans = sorted(set(setting) - set(self.models))
            if orphans:
                raise ValueError(f"{name}: no model for {orphans}; models are given for {sorted(self.models)}")
        return self


def ccnet_bucket(value: float | None, cutoffs: list[float] | None) -> str | None:
    if value is None or cutoffs is None:
        return None
    if value <= cutoffs[0]:
        return HEAD
    return MIDDLE if value <= cutoffs[1] else TAIL


def kenlm_model(path: str) -> Any:
    return worker_resource(f"thresher.kenlm:{path}", lambda: load_kenlm(path))


def score_documents(texts: list[str], languages: list[str], params: PerplexityParams) -> tuple[dict[str, list], list]:
    """Signals and reasons for documents with their languages (the pure part of the stage)."""
    signals: dict[str, list] = {"perplexity": [], "log_prob": [], "tokens": [], "bucket": [], "no_model": []}
    reasons: list[str | None] = []
    for text, language in zip(texts, languages, strict=True):
        code = base_language(language)
        path = params.models.get(code)
        if path is None:
            for name, value in (("perplexity", None), ("log_prob", None), ("tokens", None), ("bucket", None)):
                signals[name].append(value)
            signals["no_model"].append(True)
            reasons.append(NO_MODEL if params.missing_model == "remove" else None)
            continue
        log_prob, tokens = score_document(kenlm_model(path), text)
        value = perplexity(log_prob, tokens)
        signals["perplexity"].append(value)
        signals["log_prob"].append(log_prob)
        signals["tokens"].append(tokens)
        signals["bucket"].append(ccnet_bucket(value, params.buckets.get(code)))
        signals["no_model"].append(False)
        bound = params.max_perplexity.get(code)
        reasons.append(HIGH_PERPLEXITY if bound is not None and value is not None and value > bound else None)
    return signals, reasons


@register
class Perplexity(RowStage):
    """CCNet-style perplexity under a per-language KenLM n-gram model; thresholds and head/middle/tail buckets."""

    id = "perplexity"
    Params = PerplexityParams
    params: PerplexityParams

    def signal_fields(self) -> list[StructField]:
        return [
            StructField("perplexity", DoubleType()),
            StructField("log_prob", DoubleType()),
            StructField("tokens", LongType()),
            StructField("bucket", StringType()),
            StructField("no_model", BooleanType()),
        ]

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        bounds = set(self.params.max_perplexity.values())
        return {"perplexity": (None, bounds.pop())} if len(bounds) == 1 else {}

    def fingerprint(self) -> str:
        """Also changes when a model file is rewritten in place (a retrained model invalidates resume)."""
        stamps = []
        for path in sorted(self.params.models.values()):
            filesystem, location = fs.filesystem(path)
            info = filesystem.get_file_info(location)
            stamps.append(f"{path}:{info.size}:{info.mtime_ns}")
        payload = f"{super().fingerprint()}:{';'.join(stamps)}"
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def setup(self) -> None:
        for path in self.params.models.values():
            kenlm_model(path)

    def process(self, batch: DocBatch) -> StageResult:
        languages = doc_languages(batch, self.params.default_language)
        signals, reasons = score_documents(batch.texts, languages, self.params)
        return StageResult(keep=[r is None for r in reasons], reason=reasons, signals=signals)
