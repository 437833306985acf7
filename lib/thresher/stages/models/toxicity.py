"""`toxicity`: a trainable fastText toxicity classifier (P(toxic) as `score`) plus a word-list signal (matched as
the `badwords` stage matches its lists)."""

from __future__ import annotations

import re

import numpy as np
from pydantic import Field, field_validator
from pyspark.sql.types import DoubleType, LongType, StructField

from thresher.io import fs
from thresher.stages.base import ConfigPath, RowStage, StageParams, StageResult, worker_resource
from thresher.stages.fused import DocBatch
from thresher.stages.models.params import fingerprint_with_model, require_modules, required_classifier
from thresher.stages.models.quality import fasttext_classifier
from thresher.stages.quality.badwords import bundled_list, load_pattern
from thresher.stages.registry import register

TOXIC_SCORE = "toxic_score"
FLAGGED_WORDS = "flagged_words"


class ToxicityParams(StageParams):
    # Directory written by `thresher train-classifier --kind fasttext` with toxic documents as the positive
    # class; null: word-list signal only (score is null).
    model: ConfigPath | None = None
    # Documents whose P(toxic) is above are removed.
    max_score: float = Field(default=0.5, ge=0, le=1)
    # One word or phrase per line ('#' comments), matched as whole words; null: the `badwords` stage's English list.
    words_file: ConfigPath | None = None
    # Documents with a larger share of listed words among their words are removed; null: signal only.
    max_flagged_ratio: float | None = Field(default=None, ge=0, le=1)

    @field_validator("model")
    @classmethod
    def _trained_fasttext(cls, value: str | None) -> str | None:
        if value is None:
            return None
        require_modules("fasttext")
        return required_classifier(value, "fasttext")

    @field_validator("words_file")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        if value is not None and not fs.exists(value):
            raise ValueError(f"word list {value} not found")
        return value


@register
class Toxicity(RowStage):
    """fastText P(toxic) and the share of words from a word list; thresholds on both."""

    id = "toxicity"
    Params = ToxicityParams
    params: ToxicityParams

    def signal_fields(self) -> list[StructField]:
        return [
            StructField("score", DoubleType()),
            StructField("flagged_words", LongType()),
            StructField("flagged_ratio", DoubleType()),
        ]

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        return {"score": (None, self.params.max_score), "flagged_ratio": (None, self.params.max_flagged_ratio)}

    def fingerprint(self) -> str:
        return fingerprint_with_model(super().fingerprint(), self.params.model)

    def _pattern(self) -> re.Pattern[str] | None:
        path = self.params.words_file or bundled_list("en")
        return worker_resource(f"thresher.toxicity.words:{path}", lambda: load_pattern(path, "en"))

    def setup(self) -> None:
        self._pattern()
        if self.params.model is not None:
            fasttext_classifier(self.params.model)

    def process(self, batch: DocBatch) -> StageResult:
        p = self.params
        pattern = self._pattern()
        flagged = np.array([len(pattern.findall(t.lower())) if pattern else 0 for t in batch.texts], dtype=np.int64)
        ratio = flagged / np.maximum(1, np.array(batch.word_counts()))
        scores = fasttext_classifier(p.model).predict(batch.texts) if p.model is not None else None
        reasons: list[str | None] = []
        for i in range(len(batch)):
            if scores is not None and scores[i] > p.max_score:
                reasons.append(TOXIC_SCORE)
            elif p.max_flagged_ratio is not None and ratio[i] > p.max_flagged_ratio:
                reasons.append(FLAGGED_WORDS)
            else:
                reasons.append(None)
        signals = {"flagged_words": flagged, "flagged_ratio": ratio}
        if scores is not None:
            signals["score"] = scores
        return StageResult(keep=[r is None for r in reasons], reason=reasons, signals=signals)
