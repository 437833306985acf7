"""The GPU path of `embed` (skipped without CUDA): fp16 on the task's GPU, batches sized for the card, vectors
that agree with the CPU's, and the same inside a Spark task."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sentence_transformers", reason="needs the `models` extra")

from model_text import quality_corpus
from thresher.models import encoder as encoder_module
from thresher.models.embeddings import EMBED, embed_vectors
from thresher.stages.fused import FusedPass, run_row_stages
from thresher.stages.models.embed import Embed, EmbedParams

pytestmark = pytest.mark.gpu
GOOD, BAD = quality_corpus(40, 40)
DOCS = [{"doc_id": d["id"], "text": d["text"]} for d in GOOD + BAD]


def _vectors(rows: list[dict]) -> np.ndarray:
    return np.array([r[EMBED]["vector"] for r in rows], dtype=np.float32)


def test_fp16_on_the_gpu_agrees_with_the_cpu():
    import torch

    cpu = _vectors(run_row_stages([Embed(EmbedParams(device="cpu"))], DOCS))
    params = EmbedParams(device="cuda")
    gpu = _vectors(run_row_stages([Embed(params)], DOCS))
    model = encoder_module.encoder(params.spec(), params.runtime())
    assert model.device.startswith("cuda")
    assert next(model.model.parameters()).dtype == torch.float16
    assert model.batch_size >= 64 and model.batch_size % 8 == 0
    assert np.allclose(np.linalg.norm(gpu, axis=1), 1.0, atol=1e-4)
    assert np.min(np.sum(cpu * gpu, axis=1)) > 0.999


def test_a_task_assigned_gpu_is_picked_up_by_auto(monkeypatch):
    monkeypatch.setattr(encoder_module, "task_gpu_addresses", lambda: ["0"])
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    params = EmbedParams(device="auto", batch_size=128)
    run_row_stages([Embed(params)], DOCS[:4])
    model = encoder_module.encoder(params.spec(), params.runtime())
    assert model.device == "cuda:0" and model.batch_size == 128


@pytest.mark.spark
def test_gpu_embeddings_inside_spark_tasks(spark):
    frame = spark.createDataFrame(DOCS).repartition(2)
    fused = FusedPass([Embed(EmbedParams(device="cuda"))], "annotate")
    table = frame.mapInArrow(fused, fused.output_schema(frame.schema)).toArrow()
    matrix, valid = embed_vectors(table)
    assert valid.all() and matrix.shape == (len(DOCS), 384)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)
