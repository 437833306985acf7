"""`train-classifier` on the shared Spark session: reading any input format, sampling and balancing,
metrics, and the 5-fold cross-validated AUC on human quality labels against a length-only baseline."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("sentence_transformers", reason="needs the `models` extra")
pytest.importorskip("fasttext", reason="needs the `models` extra")

from tests.conftest import shared_corpus
from tests.model_fixtures import SMALL_FASTTEXT, quality_corpus, write_jsonl
from thresher.errors import InputError
from thresher.models.classifier import load_fasttext, load_head, read_info
from thresher.models.dataset import (
    SamplingSpec,
    SourceSpec,
    collect_texts,
    labelled_documents,
    sample_documents,
)
from thresher.models.train import TrainRequest, train_classifier
from thresher.stages.models.embed import Embed, EmbedParams, StageEmbedder

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """60 good documents as JSONL (plus one broken line), 80 spam documents as Parquet."""
    root = tmp_path_factory.mktemp("train_sources")
    good, bad = quality_corpus(60, 80)
    positive = write_jsonl(root / "good.jsonl", good)
    with positive.open("a") as out:
        out.write('{"id": "broken", "text": \n')
    negative = root / "bad" / "part-0.parquet"
    negative.parent.mkdir()
    pq.write_table(pa.Table.from_pylist(bad), negative)
    return str(positive), str(negative.parent)


def test_fasttext_classifier_from_jsonl_and_parquet_sources_is_balanced_and_evaluated(spark, sources, tmp_path):
    positive, negative = sources
    out = tmp_path / "ft"
    request = TrainRequest(
        kind="fasttext",
        output=str(out),
        sources=SourceSpec(positive=(positive,), negative=(negative,)),
        holdout=0.25,
        cv=3,
        fasttext=SMALL_FASTTEXT,
    )
    metrics = train_classifier(spark, request)
    data = metrics["data"]
    assert (data["positive_available"], data["negative_available"]) == (60, 80)
    assert (data["positive_sampled"], data["negative_sampled"]) == (60, 60)
    assert data["quarantined"] == 1
    assert metrics["train_docs"] == 90  # 45 of each class; 15 of each held out
    holdout = metrics["holdout"]
    assert holdout["docs"] == 30 and holdout["positive"] == 15
    assert holdout["roc_auc"] > 0.95 and holdout["precision"] > 0.9 and holdout["recall"] > 0.9
    assert len(metrics["cross_validation"]["roc_auc_per_fold"]) == 3
    assert json.loads((out / "metrics.json").read_text())["holdout"]["docs"] == 30
    assert read_info(str(out))["metrics"]["train_docs"] == 90
    model = load_fasttext(str(out))
    good, bad = quality_corpus(5, 5, seed=123)
    scores = model.predict([d["text"] for d in good + bad])
    assert scores[:5].min() > scores[5:].max()


def test_sample_is_the_same_whatever_the_partitioning_and_capped_per_class(spark, sources):
    positive, negative = sources
    with labelled_documents(spark, SourceSpec(positive=(positive,), negative=(negative,))) as records:
        capped, counts = sample_documents(records, SamplingSpec(max_per_class=25, balance=False, seed=5))
        again, _ = sample_documents(records.repartition(7), SamplingSpec(max_per_class=25, balance=False, seed=5))
        reseeded, _ = sample_documents(records, SamplingSpec(max_per_class=25, balance=False, seed=6))
        first, second = collect_texts(capped, 100), collect_texts(again, 100)
        assert first.keys == second.keys
        assert first.keys != collect_texts(reseeded, 100).keys
        assert (counts["positive_sampled"], counts["negative_sampled"]) == (25, 25)
        assert sorted(first.ranks[first.labels == 1].tolist()) == list(range(25))
        _, counts = sample_documents(records, SamplingSpec(balance=False))
        assert (counts["positive_sampled"], counts["negative_sampled"]) == (60, 80)


def test_labelled_source_uses_a_label_threshold_and_counts_unlabelled_records(spark, tmp_path):
    good, bad = quality_corpus(20, 20)
    docs = [{**d, "meta": {"edu": 4 if i % 2 else 3}} for i, d in enumerate(good)]
    docs += [{**d, "meta": {"edu": i % 3}} for i, d in enumerate(bad)]
    docs += [
        {"id": "no-label", "text": "a document without a score"},
        {"id": "odd", "text": "x", "meta": {"edu": "?"}},
    ]
    path = write_jsonl(tmp_path / "scored.jsonl", docs)
    spec = SourceSpec(labelled=(str(path),), label_field="meta.edu", positive_min=3)
    both = SourceSpec(labelled=(str(path),), positive=(str(path),))
    with (
        pytest.raises(InputError, match="either labelled sources or positive and negative"),
        labelled_documents(spark, both),
    ):
        pass
    with labelled_documents(spark, spec) as records:
        _, counts = sample_documents(records, SamplingSpec(balance=False))
    assert (counts["positive_available"], counts["negative_available"], counts["unlabelled"]) == (20, 20, 2)


def test_one_class_only_is_a_clear_error(spark, sources):
    positive, _ = sources
    with (
        labelled_documents(spark, SourceSpec(positive=(positive,), negative=(positive,))) as records,
        pytest.raises(InputError, match="both classes"),
    ):
        sample_documents(records.where("label = 1"), SamplingSpec())


def test_embedding_head_is_trained_on_vectors_computed_by_the_executors(spark, sources, tmp_path):
    positive, negative = sources
    out = tmp_path / "head"
    request = TrainRequest(
        kind="embedding",
        output=str(out),
        sources=SourceSpec(positive=(positive,), negative=(negative,)),
        sampling=SamplingSpec(max_per_class=40),
        holdout=0.25,
        embedder=StageEmbedder(Embed(EmbedParams(max_seq_length=64))),
    )
    metrics = train_classifier(spark, request)
    assert metrics["train_docs"] == 60 and metrics["holdout"]["roc_auc"] > 0.95
    head = load_head(str(out))
    assert head.dim == 384 and head.spec.max_seq_length == 64
    assert not (out / "model.bin").exists()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fasttext", "embedding"])
def test_quality_classifiers_beat_the_length_baseline_on_human_labels(spark, kind, tmp_path):
    """The README's numbers: 5-fold CV ROC AUC on dclm_human_quality_499 (all 499 documents)."""
    corpus = shared_corpus("dclm_human_quality_499.jsonl")
    request = TrainRequest(
        kind=kind,
        output=str(tmp_path / kind),
        sources=SourceSpec(labelled=(str(corpus),)),
        sampling=SamplingSpec(balance=False),
        holdout=0.2,
        cv=5,
        embedder=StageEmbedder(Embed(EmbedParams())) if kind == "embedding" else None,
    )
    cv = train_classifier(spark, request)["cross_validation"]
    assert cv["folds"] == 5 and len(cv["roc_auc_per_fold"]) == 5
    assert cv["roc_auc_mean"] > cv["baseline_length_roc_auc_mean"] + 0.02, cv
    assert np.mean(cv["roc_auc_per_fold"]) == pytest.approx(cv["roc_auc_mean"])
