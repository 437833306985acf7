"""`embed`: sentence embeddings of every document (see `thresher.models.embeddings` for the column contract)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import AfterValidator, Field
from pyspark.sql import DataFrame
from pyspark.sql.types import StructField

from thresher.models.embeddings import (
    CHUNKS,
    DEFAULT_MODEL,
    DIM,
    EMBED,
    EMBED_SIGNAL_FIELDS,
    MODEL,
    VECTOR,
    vectors_to_arrow,
)
from thresher.models.encoder import EncoderSpec, LongDocs, encoder
from thresher.stages.base import RowStage, StageResult
from thresher.stages.fused import DocBatch, FusedPass
from thresher.stages.models.params import EncoderRuntimeParams, resolve_model_name
from thresher.stages.registry import register


class EmbedParams(EncoderRuntimeParams):
    # A sentence-transformers model: a name, or a local directory (relative to the config file).
    model: Annotated[str, AfterValidator(resolve_model_name)] = DEFAULT_MODEL
    # Tokens per sequence; null: the model's own (256 for all-MiniLM-L6-v2).
    max_seq_length: int | None = Field(default=None, gt=0)
    # truncate: embed the first window; chunk: embed up to max_chunks windows and average them.
    long_docs: LongDocs = "truncate"
    max_chunks: int = Field(
        default=8, gt=0, description="With `long_docs: chunk`: at most this many windows are embedded and averaged."
    )

    def spec(self) -> EncoderSpec:
        return EncoderSpec(self.model, self.max_seq_length, self.long_docs, self.max_chunks)


@register
class Embed(RowStage):
    """Sentence embeddings (L2-normalized float32) on the task's GPU or the CPU; removes nothing."""

    id = EMBED
    Params = EmbedParams
    params: EmbedParams

    def signal_fields(self) -> list[StructField]:
        return list(EMBED_SIGNAL_FIELDS)

    def setup(self) -> None:
        encoder(self.params.spec(), self.params.runtime())

    def process(self, batch: DocBatch) -> StageResult:
        model = encoder(self.params.spec(), self.params.runtime())
        vectors, chunks = model.encode(batch.texts)
        n = len(batch)
        return StageResult(
            keep=[True] * n,
            reason=[None] * n,
            signals={
                VECTOR: vectors_to_arrow(vectors),
                MODEL: [self.params.model] * n,
                DIM: np.full(n, model.dim, dtype=np.int32),
                CHUNKS: chunks,
            },
        )


class StageEmbedder:
    """The `embed` stage as a `thresher.models.dataset.Embedder` (for training an embedding head): vectors are
    computed on the executors by a one-stage fused pass."""

    def __init__(self, stage: Embed) -> None:
        self.stage = stage

    def encoder_spec(self) -> EncoderSpec:
        return self.stage.params.spec()

    def embed(self, docs: DataFrame) -> DataFrame:
        fused = FusedPass([self.stage], "annotate")
        return docs.mapInArrow(fused, fused.output_schema(docs.schema))
