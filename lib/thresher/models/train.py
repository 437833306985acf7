"""Training a classifier on the driver from a Spark-drawn sample, with held-out and cross-validated metrics.

Two kinds: `fasttext` (DCLM-style: fastText supervised on lower-cased, punctuation-split text) and `embedding`
(logistic regression on sentence embeddings computed by the `embed` stage on the executors, FineWeb-Edu
style). Both are evaluated against a length-only baseline (logistic regression on log word count) on the same
folds, so a classifier that only learned "long documents are good" shows it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from pyspark.sql import SparkSession

from thresher import __version__
from thresher.errors import ThresherError
from thresher.models.classifier import (
    FASTTEXT_FILE,
    METRICS_FILE,
    NEGATIVE_LABEL,
    POSITIVE_LABEL,
    FastTextClassifier,
    Kind,
    fasttext_line,
    file_digest,
    write_classifier,
)
from thresher.models.dataset import (
    Embedder,
    Sample,
    SamplingSpec,
    SourceSpec,
    collect_texts,
    collect_vectors,
    holdout_mask,
    labelled_documents,
    sample_documents,
)
from thresher.models.encoder import EncoderSpec

# fit(train rows, test rows) -> P(positive) of the test rows
FitPredict = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class FastTextOptions:
    epoch: int = 20
    lr: float = 0.5
    word_ngrams: int = 2
    dim: int = 100
    min_count: int = 2
    # Hash buckets of word n-grams: the model file holds bucket * dim floats.
    bucket: int = 200_000
    # One thread trains reproducibly (fastText's multi-threaded SGD is not deterministic).
    threads: int = 1
    # Characters of a document the classifier reads (training and scoring).
    max_chars: int = 100_000


@dataclass(frozen=True)
class HeadOptions:
    # Inverse L2 regularisation strength of the logistic regression.
    c: float = 1.0
    max_iter: int = 2000


def fit_fasttext(texts: list[str], labels: np.ndarray, options: FastTextOptions, seed: int) -> FastTextClassifier:
    try:
        import fasttext
    except ImportError as error:
        raise ThresherError(
            "fastText training needs the `models` extra: "
            "pip install 'thresher-<version>-py3-none-any.whl[models]' (README: Install)"
        ) from error
    handle, path = tempfile.mkstemp(suffix=".txt", prefix="thresher-fasttext-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            for text, label in zip(texts, labels, strict=True):
                out.write(f"{POSITIVE_LABEL if label else NEGATIVE_LABEL} {fasttext_line(text, options.max_chars)}\n")
        model = fasttext.train_supervised(
            path,
            epoch=options.epoch,
            lr=options.lr,
            wordNgrams=options.word_ngrams,
            dim=options.dim,
            minCount=options.min_count,
            bucket=options.bucket,
            thread=options.threads,
            seed=seed,
            verbose=0,
        )
    except RuntimeError as error:
        if "NaN" in str(error):
            raise ThresherError(f"fastText training diverged (NaN) at lr={options.lr}: lower --lr") from None
        raise
    finally:
        os.unlink(path)
    return FastTextClassifier(model, POSITIVE_LABEL, options.max_chars)


def save_fasttext(classifier: FastTextClassifier, options: FastTextOptions, output: str) -> dict[str, Any]:
    """Write `model.bin` to `output`; returns the classifier description for `classifier.json`."""
    os.makedirs(output, exist_ok=True)
    path = os.path.join(output, FASTTEXT_FILE)
    classifier.model.save_model(path)
    return {
        "kind": "fasttext",
        "positive_label": POSITIVE_LABEL,
        "negative_label": NEGATIVE_LABEL,
        "preprocess": {"max_chars": options.max_chars, "lowercase": True, "split_punctuation": True},
        "options": asdict(options),
        "model_sha256": file_digest(path),
    }


def head_info(weights: np.ndarray, bias: float, spec: EncoderSpec, options: HeadOptions) -> dict[str, Any]:
    """The description of an embedding head for `classifier.json` (the weights live in it)."""
    head = {"weights": weights.tolist(), "bias": bias, "encoder": asdict(spec)}
    digest = hashlib.sha256(json.dumps(head, sort_keys=True).encode()).hexdigest()
    return {"kind": "embedding", "head": head, "options": asdict(options), "model_sha256": digest}


def fit_logistic(features: np.ndarray, labels: np.ndarray, c: float, max_iter: int) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=max_iter)
    model.fit(features, labels)
    return model.coef_[0].astype(np.float64), float(model.intercept_[0])


def logistic_scores(features: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(features @ weights + bias)))


def length_feature(words: np.ndarray) -> np.ndarray:
    return np.log1p(words.astype(np.float64)).reshape(-1, 1)


def evaluate(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Precision, recall, F1 and accuracy at `threshold`, and ROC AUC (null with one class only)."""
    from sklearn.metrics import roc_auc_score

    predicted = scores >= threshold
    positive = labels == 1
    true_pos = int((predicted & positive).sum())
    precision = true_pos / int(predicted.sum()) if predicted.any() else 0.0
    recall = true_pos / int(positive.sum()) if positive.any() else 0.0
    both = len(set(labels.tolist())) == 2
    return {
        "docs": len(labels),
        "positive": int(positive.sum()),
        "threshold": threshold,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "accuracy": float((predicted == positive).mean()),
        "roc_auc": float(roc_auc_score(labels, scores)) if both else float("nan"),
    }


def cross_validate(sample: Sample, folds: int, fit_predict: FitPredict) -> dict[str, Any]:
    """Stratified k-fold: fold = rank in the class's hash order mod k. Reports the classifier's and the
    length baseline's ROC AUC per fold."""
    from sklearn.metrics import roc_auc_score

    smallest = min(int((sample.labels == 1).sum()), int((sample.labels == 0).sum()))
    if smallest < folds:
        raise ThresherError(f"--cv {folds}: the smaller class has only {smallest} documents, fewer than the folds")
    fold_of = sample.ranks % folds
    lengths = length_feature(sample.words)
    aucs, baseline = [], []
    for fold in range(folds):
        test = np.flatnonzero(fold_of == fold)
        train = np.flatnonzero(fold_of != fold)
        aucs.append(float(roc_auc_score(sample.labels[test], fit_predict(train, test))))
        weights, bias = fit_logistic(lengths[train], sample.labels[train], 1.0, 1000)
        baseline.append(float(roc_auc_score(sample.labels[test], logistic_scores(lengths[test], weights, bias))))
    return {
        "folds": folds,
        "roc_auc_mean": float(np.mean(aucs)),
        "roc_auc_std": float(np.std(aucs)),
        "roc_auc_per_fold": aucs,
        "baseline_length_roc_auc_mean": float(np.mean(baseline)),
        "baseline_length_roc_auc_per_fold": baseline,
    }


@dataclass(frozen=True)
class TrainRequest:
    kind: Kind
    output: str
    sources: SourceSpec
    sampling: SamplingSpec = field(default_factory=SamplingSpec)
    # Share of each class held out for the final metrics (0: none).
    holdout: float = 0.2
    # k of k-fold cross-validation over the whole sample (0: none).
    cv: int = 0
    fasttext: FastTextOptions = field(default_factory=FastTextOptions)
    head: HeadOptions = field(default_factory=HeadOptions)
    # Computes the vectors (kind `embedding`): the `embed` stage, as `thresher.stages.models.embed.StageEmbedder`.
    embedder: Embedder | None = None


def train_classifier(spark: SparkSession, request: TrainRequest) -> dict[str, Any]:
    """Read, sample, train, evaluate, write `classifier.json` (+ `model.bin`) and `metrics.json` to
    `request.output`; returns the metrics."""
    if "://" in request.output:
        raise ThresherError(f"--output {request.output}: write the classifier to a local path, then copy it")
    started = time.perf_counter()
    with labelled_documents(spark, request.sources) as records:
        sampled, counts = sample_documents(records, request.sampling)
        if request.kind == "fasttext":
            sample = collect_texts(sampled, request.fasttext.max_chars)
        else:
            sample = collect_vectors(sampled, _embedder(request))
    held = holdout_mask(sample, request.holdout)
    if request.holdout and (held.all() or not held.any() or len(set(sample.labels[~held].tolist())) < 2):
        raise ThresherError(f"--holdout {request.holdout} leaves no training or no hold-out documents")
    fit_predict, finish = _trainer(request, sample)
    metrics: dict[str, Any] = {
        "kind": request.kind,
        "thresher_version": __version__,
        "data": {**counts, "sources": asdict(request.sources), "sampling": asdict(request.sampling)},
    }
    if request.cv:
        metrics["cross_validation"] = cross_validate(sample, request.cv, fit_predict)
    train, test = np.flatnonzero(~held), np.flatnonzero(held)
    info = finish(train)
    if test.size:
        holdout_metrics = evaluate(sample.labels[test], fit_predict(train, test))
        lengths = length_feature(sample.words)
        weights, bias = fit_logistic(lengths[train], sample.labels[train], 1.0, 1000)
        baseline = evaluate(sample.labels[test], logistic_scores(lengths[test], weights, bias))
        metrics["holdout"] = {**holdout_metrics, "baseline_length_roc_auc": baseline["roc_auc"]}
    metrics["train_docs"] = int(train.size)
    metrics["seconds"] = time.perf_counter() - started
    write_classifier(request.output, _json_safe({**info, "metrics": _summary(metrics)}))
    with open(os.path.join(request.output, METRICS_FILE), "w", encoding="utf-8") as out:
        json.dump(_json_safe(metrics), out, indent=2)
        out.write("\n")
    return metrics


def _trainer(request: TrainRequest, sample: Sample) -> tuple[FitPredict, Callable[[np.ndarray], dict[str, Any]]]:
    """(fit on rows and score other rows, fit on rows and save the model returning its description)."""
    seed = request.sampling.seed
    if request.kind == "fasttext":
        texts = sample.texts or []
        options = request.fasttext

        def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
            model = fit_fasttext([texts[i] for i in train], sample.labels[train], options, seed)
            return model.predict([texts[i] for i in test])

        def finish(train: np.ndarray) -> dict[str, Any]:
            model = fit_fasttext([texts[i] for i in train], sample.labels[train], options, seed)
            return save_fasttext(model, options, request.output)

        return fit_predict, finish

    vectors = sample.vectors if sample.vectors is not None else np.zeros((0, 0))
    spec = _embedder(request).encoder_spec()
    options = request.head

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        weights, bias = fit_logistic(vectors[train], sample.labels[train], options.c, options.max_iter)
        return logistic_scores(vectors[test].astype(np.float64), weights, bias)

    def finish(train: np.ndarray) -> dict[str, Any]:
        weights, bias = fit_logistic(vectors[train], sample.labels[train], options.c, options.max_iter)
        return head_info(weights, bias, spec, options)

    return fit_predict, finish


def _embedder(request: TrainRequest) -> Embedder:
    if request.embedder is None:
        raise ThresherError("an embedding head needs an embedder (the `embed` stage that computes its vectors)")
    return request.embedder


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    keep = ("holdout", "cross_validation", "train_docs")
    return {k: metrics[k] for k in keep if k in metrics}


def _json_safe(value: Any) -> Any:
    """NaN (an AUC with one class only) becomes null: JSON has no NaN."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
