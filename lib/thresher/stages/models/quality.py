"""Quality classifiers: `quality_fasttext` (DCLM-style fastText on the text) and `quality_embedding` (a logistic
head on sentence embeddings, FineWeb-Edu style). Both write P(high quality) as `score`; `min_score` decides."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow.compute as pc
from pydantic import Field, field_validator
from pyspark.sql.types import BooleanType, DoubleType, StructField

from thresher.models.classifier import EmbeddingHead, FastTextClassifier, load_fasttext, load_head
from thresher.models.embeddings import DIM, EMBED, MODEL, VECTOR, vectors_from_arrow
from thresher.models.encoder import encoder
from thresher.stages.base import ConfigPath, RowStage, StageParams, StageResult, worker_resource
from thresher.stages.fused import DocBatch
from thresher.stages.models.params import (
    EncoderRuntimeParams,
    fingerprint_with_model,
    require_modules,
    required_classifier,
)
from thresher.stages.registry import register

LOW_QUALITY = "low_quality"
log = logging.getLogger(__name__)


def quality_decisions(scores: np.ndarray, min_score: float) -> tuple[list[bool], list[str | None]]:
    keep = [bool(s >= min_score) for s in scores]
    return keep, [None if k else LOW_QUALITY for k in keep]


def fasttext_classifier(path: str) -> FastTextClassifier:
    return worker_resource(f"thresher.fasttext:{path}", lambda: load_fasttext(path))


class QualityFastTextParams(StageParams):
    # Directory written by `thresher train-classifier --kind fasttext` (local path or URI).
    model: ConfigPath | None = Field(default=None, validate_default=True)
    min_score: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Documents scoring below are removed (`low_quality`); DCLM keeps roughly the top 10%: pick it "
        "from the score quantiles.",
    )

    @field_validator("model")
    @classmethod
    def _trained_fasttext(cls, value: str | None) -> str:
        require_modules("fasttext")
        return required_classifier(value, "fasttext")


@register
class QualityFastText(RowStage):
    """DCLM-style fastText quality score: P(positive class) of a classifier trained by `train-classifier`."""

    id = "quality_fasttext"
    Params = QualityFastTextParams
    params: QualityFastTextParams

    def signal_fields(self) -> list[StructField]:
        return [StructField("score", DoubleType())]

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        return {"score": (self.params.min_score, None)}

    def fingerprint(self) -> str:
        return fingerprint_with_model(super().fingerprint(), self.params.model)

    def setup(self) -> None:
        fasttext_classifier(str(self.params.model))

    def process(self, batch: DocBatch) -> StageResult:
        scores = fasttext_classifier(str(self.params.model)).predict(batch.texts)
        keep, reasons = quality_decisions(scores, self.params.min_score)
        return StageResult(keep=keep, reason=reasons, signals={"score": scores})


class QualityEmbeddingParams(EncoderRuntimeParams):
    # Directory written by `thresher train-classifier --kind embedding` (local path or URI).
    model: ConfigPath | None = Field(default=None, validate_default=True)
    min_score: float = Field(
        default=0.5, ge=0, le=1, description="Documents scoring below are removed (`low_quality`)."
    )
    # Vectors of this column (the `embed` contract) are used when they come from the head's embedding model;
    # documents without such a vector are embedded here.
    embed_column: str = EMBED

    @field_validator("model")
    @classmethod
    def _trained_head(cls, value: str | None) -> str:
        return required_classifier(value, "embedding")


def head(path: str) -> EmbeddingHead:
    return worker_resource(f"thresher.head:{path}", lambda: load_head(path))


@register
class QualityEmbedding(RowStage):
    """Logistic head on sentence embeddings; reuses the `embed` column when it holds the head's model."""

    id = "quality_embedding"
    Params = QualityEmbeddingParams
    params: QualityEmbeddingParams

    def signal_fields(self) -> list[StructField]:
        return [StructField("score", DoubleType()), StructField("reused_embedding", BooleanType())]

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        return {"score": (self.params.min_score, None)}

    def fingerprint(self) -> str:
        return fingerprint_with_model(super().fingerprint(), self.params.model)

    def setup(self) -> None:
        head(str(self.params.model))

    def process(self, batch: DocBatch) -> StageResult:
        classifier = head(str(self.params.model))
        vectors, reused = self._stored_vectors(batch, classifier)
        missing = np.flatnonzero(~reused)
        if missing.size:
            computed, _ = encoder(classifier.spec, self.params.runtime()).encode([batch.texts[i] for i in missing])
            vectors[missing] = computed
        scores = classifier.predict(vectors)
        keep, reasons = quality_decisions(scores, self.params.min_score)
        return StageResult(keep=keep, reason=reasons, signals={"score": scores, "reused_embedding": reused})

    def _stored_vectors(self, batch: DocBatch, classifier: EmbeddingHead) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of the embed column made by the head's model, and which rows had one."""
        n = len(batch)
        column = self.params.embed_column
        if not batch.has_column(column):
            return np.zeros((n, classifier.dim), np.float32), np.zeros(n, bool)
        struct = batch.arrow(column)
        matrix, valid = vectors_from_arrow(pc.struct_field(struct, VECTOR), dim=classifier.dim)
        if matrix.shape[1] != classifier.dim:
            return np.zeros((n, classifier.dim), np.float32), np.zeros(n, bool)
        same_model = pc.fill_null(pc.equal(pc.struct_field(struct, MODEL), classifier.spec.model), False)
        same_dim = pc.fill_null(pc.equal(pc.struct_field(struct, DIM), classifier.dim), False)
        usable = valid & same_model.to_numpy(zero_copy_only=False) & same_dim.to_numpy(zero_copy_only=False)
        matrix[~usable] = 0.0
        return matrix, usable
