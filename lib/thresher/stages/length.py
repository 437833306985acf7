"""`length`: bounds on characters and whitespace-separated words, per document language under `languages:`
(e.g. `{zh: {min_words: 0, min_chars: 200}}`: whitespace words say little in languages written without spaces)."""

from __future__ import annotations

from pydantic import Field, model_validator
from pyspark.sql.types import LongType, StructField

from thresher.stages.base import RowStage, StageResult
from thresher.stages.fused import DocBatch
from thresher.stages.quality._language import LanguageOverrides, doc_languages
from thresher.stages.registry import register


class LengthParams(LanguageOverrides):
    min_chars: int = Field(default=0, ge=0, description="Fewest characters a document may have.")
    max_chars: int | None = Field(
        default=None, gt=0, description="Most characters a document may have (null: no bound)."
    )
    min_words: int = Field(default=0, ge=0, description="Fewest whitespace-separated words a document may have.")
    max_words: int | None = Field(
        default=None, gt=0, description="Most whitespace-separated words a document may have (null: no bound)."
    )

    @model_validator(mode="after")
    def _bounds_ordered(self) -> LengthParams:
        if self.max_chars is not None and self.max_chars < self.min_chars:
            raise ValueError(f"max_chars {self.max_chars} < min_chars {self.min_chars}")
        if self.max_words is not None and self.max_words < self.min_words:
            raise ValueError(f"max_words {self.max_words} < min_words {self.min_words}")
        return self


def length_decision(chars: int, words: int, p: LengthParams) -> str | None:
    """The reason to drop a document of this size, or None to keep it."""
    if chars < p.min_chars:
        return "too_few_chars"
    if p.max_chars is not None and chars > p.max_chars:
        return "too_many_chars"
    if words < p.min_words:
        return "too_few_words"
    if p.max_words is not None and words > p.max_words:
        return "too_many_words"
    return None


@register
class Length(RowStage):
    """Bounds on characters and whitespace-separated words, per language under `languages:`; reasons
    `too_few_chars`, `too_many_chars`, `too_few_words`, `too_many_words`."""

    id = "length"
    Params = LengthParams
    params: LengthParams

    def signal_fields(self) -> list[StructField]:
        return [StructField("chars", LongType()), StructField("words", LongType())]

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        p = self.params
        return {"chars": (p.min_chars or None, p.max_chars), "words": (p.min_words or None, p.max_words)}

    def process(self, batch: DocBatch) -> StageResult:
        chars = [len(t) for t in batch.texts]
        words = batch.word_counts()
        languages = doc_languages(batch, self.params.default_language)
        reasons = [
            length_decision(c, w, self.params.for_language(language))
            for c, w, language in zip(chars, words, languages, strict=True)
        ]
        return StageResult(keep=[r is None for r in reasons], reason=reasons, signals={"chars": chars, "words": words})
