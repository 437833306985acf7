"""`toxicity`: a trainable fastText toxicity classifier (P(toxic) as `score`) plus a word-list signal."""

from __future__ import annotations

import re
from importlib import resources

import numpy as np
from pydantic import Field, field_validator
from pyspark.sql.types import DoubleType, LongType, StructField

from thresher.io import fs
from thresher.stages.base import ConfigPath, RowStage, StageParams, StageResult, worker_resource
from thresher.stages.fused import DocBatch
from thresher.stages.models.params import fingerprint_with_model, require_modules, required_classifier
from thresher.stages.models.quality import fasttext_classifier
from thresher.stages.registry import register

TOXIC_SCORE = "toxic_score"
FLAGGED_WORDS = "flagged_words"
_WORD = re.compile(r"\w+")


class WordList:
    """Words and multi-word phrases, matched on lower-case word tokens."""

    def __init__(self, lines: list[str]) -> None:
        entries = [tuple(_WORD.findall(line.lower())) for line in lines if line.strip() and not line.startswith("#")]
        self.phrases = {" ".join(e) for e in entries if e}
        self.longest = max((len(e) for e in entries), default=0)

    @classmethod
    def from_text(cls, text: str) -> WordList:
        return cls(text.splitlines())

    def count(self, tokens: list[str]) -> int:
        """Occurrences of listed words or phrases among `tokens` (every n-gram position counts)."""
        found = sum(1 for t in tokens if t in self.phrases)
        for n in range(2, self.longest + 1):
            found += sum(1 for i in range(len(tokens) - n + 1) if " ".join(tokens[i : i + n]) in self.phrases)
        return found


def load_word_list(path: str | None) -> WordList:
    if path is None:
        return WordList.from_text(resources.files("thresher").joinpath("resources/toxicity/words_en.txt").read_text())
    return WordList.from_text(fs.read_text(path))


def lower_words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class ToxicityParams(StageParams):
    # Directory written by `thresher train-classifier --kind fasttext` with toxic documents as the positive
    # class; null: word-list signal only (score is null).
    model: ConfigPath | None = None
    # Documents whose P(toxic) is above are removed.
    max_score: float = Field(default=0.5, ge=0, le=1)
    # One word or phrase per line ('#' comments); null: the short built-in English list.
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

    def _words(self) -> WordList:
        path = self.params.words_file
        return worker_resource(f"thresher.toxicity.words:{path}", lambda: load_word_list(path))

    def setup(self) -> None:
        self._words()
        if self.params.model is not None:
            fasttext_classifier(self.params.model)

    def process(self, batch: DocBatch) -> StageResult:
        p = self.params
        words = self._words()
        tokens = batch.per_doc("toxicity.lower_words", lower_words)
        flagged = np.array([words.count(t) for t in tokens], dtype=np.int64)
        ratio = flagged / np.maximum(1, np.array([len(t) for t in tokens]))
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
