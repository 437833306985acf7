"""The model stages in a pipeline run on the shared session: embeddings computed on the Python workers,
stored in Delta under the `embed` contract, reused by the quality head; classifiers decide; nothing is lost."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sentence_transformers", reason="needs the `models` extra")
pytest.importorskip("fasttext", reason="needs the `models` extra")

from pyspark.sql.types import ArrayType, FloatType, IntegerType, StringType

from model_text import quality_corpus, toxicity_corpus, write_jsonl
from thresher.conf import load_config
from thresher.io.delta import DeltaStore, resolve_format
from thresher.models.classifier import write_classifier
from thresher.models.embeddings import DEFAULT_MODEL, EMBED, embed_vectors
from thresher.models.encoder import EncoderRuntime, EncoderSpec, encoder
from thresher.models.train import (
    FastTextOptions,
    HeadOptions,
    fit_fasttext,
    fit_logistic,
    head_info,
    save_fasttext,
)
from thresher.runner import run_pipeline

pytestmark = pytest.mark.spark
SMALL_FASTTEXT = FastTextOptions(epoch=10, bucket=20_000, dim=20)


def _fasttext(path, positive, negative) -> str:
    labels = np.array([1] * len(positive) + [0] * len(negative))
    model = fit_fasttext([d["text"] for d in positive + negative], labels, SMALL_FASTTEXT, 1)
    write_classifier(str(path), save_fasttext(model, SMALL_FASTTEXT, str(path)))
    return str(path)


def test_model_stages_in_a_filter_run(spark, tmp_path):
    good, spam = quality_corpus(70, 40, seed=21)
    toxic, civil = toxicity_corpus(60, 60, seed=22)
    quality_dir = _fasttext(tmp_path / "quality", good[:40], spam[:20])
    # A toxicity classifier's negatives are ordinary text of every kind, not only civil messages.
    toxicity_dir = _fasttext(tmp_path / "toxicity", toxic[:50], civil[:50] + good[:20] + spam[:20])
    vectors, _ = encoder(EncoderSpec(), EncoderRuntime()).encode([d["text"] for d in good[:40] + spam[:20]])
    weights, bias = fit_logistic(vectors, np.array([1] * 40 + [0] * 20), 1.0, 1000)
    head_dir = tmp_path / "head"
    write_classifier(str(head_dir), head_info(weights, bias, EncoderSpec(), HeadOptions()))

    corpus = good[40:] + spam[20:] + toxic[50:]
    write_jsonl(tmp_path / "in.jsonl", corpus)
    config = load_config(
        data={
            "run": {"output": str(tmp_path / "run"), "mode": "filter", "batch_size": 16},
            "input": {"path": str(tmp_path / "in.jsonl")},
            "stages": {
                "toxicity": {"model": toxicity_dir},
                "quality_fasttext": {"model": quality_dir},
                "embed": {},
                "quality_embedding": {"model": str(head_dir)},
            },
        }
    )
    result = run_pipeline(config, spark)
    assert result.totals == {"input_records": 60, "kept": 30, "excluded": 30, "quarantine": 0}
    stats = {row["stage"]: row for row in result.stats}
    assert stats["toxicity"]["reason_counts"] == {"toxic_score": 10}
    assert stats["quality_fasttext"]["reason_counts"] == {"low_quality": 20}
    assert stats["embed"]["docs_in"] == stats["embed"]["docs_out"] == 30

    store = DeltaStore(spark, resolve_format(spark, "auto"))
    kept = store.read(result.output + "/kept")
    embed_type = kept.schema[EMBED].dataType
    assert [f.name for f in embed_type.fields] == ["keep", "reason", "vector", "model", "dim", "chunks"]
    assert embed_type["vector"].dataType == ArrayType(FloatType())
    assert embed_type["model"].dataType == StringType() and embed_type["dim"].dataType == IntegerType()
    table = kept.select("doc_id", EMBED, "quality_embedding").toArrow()
    matrix, valid = embed_vectors(table)
    assert valid.all() and matrix.shape == (30, 384)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
    rows = table.to_pylist()
    assert {(r[EMBED]["model"], r[EMBED]["dim"], r[EMBED]["chunks"]) for r in rows} == {(DEFAULT_MODEL, 384, 1)}
    assert all(r["quality_embedding"]["reused_embedding"] and r["quality_embedding"]["keep"] for r in rows)
    assert sorted(r["doc_id"] for r in rows) == sorted(d["id"] for d in good[40:])
