"""Trained classifiers as files: a directory with `classifier.json` (kind, labels, preprocessing, the head's
weights, a digest of the model) and, for fastText, `model.bin`. Written by `thresher train-classifier`, read by
the scoring stages on the Python workers (local paths, or any URI pyarrow reads: s3://, gs://, abfss://, ...).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from thresher.io import fs
from thresher.models.encoder import MISSING_EXTRA, EncoderSpec

Kind = Literal["fasttext", "embedding"]
CLASSIFIER_FILE = "classifier.json"
FASTTEXT_FILE = "model.bin"
METRICS_FILE = "metrics.json"
FORMAT_VERSION = 1
POSITIVE_LABEL = "__label__positive"
NEGATIVE_LABEL = "__label__negative"

_SPACE = re.compile(r"\s+")
# Punctuation split from words, so that "word," and "word" are one token to fastText.
_PUNCT = re.compile(r"([^\w\s])")


def fasttext_line(text: str, max_chars: int) -> str:
    """A document as one fastText input line: lower case, punctuation split off, whitespace collapsed."""
    return _SPACE.sub(" ", _PUNCT.sub(r" \1 ", text[:max_chars].lower())).strip()


def classifier_file(path: str) -> str:
    """`classifier.json` of a classifier directory (the path may also name that file itself)."""
    return path if path.endswith(".json") else fs.join(path, CLASSIFIER_FILE)


def model_dir(path: str) -> str:
    return path.rsplit("/", 1)[0] if path.endswith(".json") else path


def read_info(path: str) -> dict[str, Any]:
    return json.loads(fs.read_text(classifier_file(path)))


def check_classifier(path: str, kind: Kind) -> dict[str, Any]:
    """The classifier's description, or ValueError saying what is wrong (for config validation)."""
    where = classifier_file(path)
    if not fs.exists(where):
        raise ValueError(
            f"no trained classifier at {path} ({CLASSIFIER_FILE} missing): train one with `thresher train-classifier`"
        )
    try:
        info = read_info(path)
    except (OSError, ValueError) as error:
        raise ValueError(f"{where} is not a readable classifier description: {error}") from None
    if info.get("kind") != kind:
        raise ValueError(f"{path} holds a {info.get('kind')!r} classifier; this stage needs a {kind!r} one")
    if info.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{where}: format_version {info.get('format_version')!r}, expected {FORMAT_VERSION}")
    return info


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_classifier(directory: str, info: dict[str, Any]) -> None:
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, CLASSIFIER_FILE), "w", encoding="utf-8") as handle:
        json.dump({"format_version": FORMAT_VERSION, **info}, handle, indent=2)
        handle.write("\n")


@dataclass
class FastTextClassifier:
    """A binary fastText classifier: P(positive label) per document."""

    model: Any
    positive_label: str
    max_chars: int

    def predict(self, texts: list[str]) -> np.ndarray:
        lines = [fasttext_line(t, self.max_chars) for t in texts]
        labels, probabilities = self.model.predict(lines, k=-1)
        scores = np.zeros(len(lines), dtype=np.float64)
        for i, (names, probs) in enumerate(zip(labels, probabilities, strict=True)):
            for name, prob in zip(names, probs, strict=True):
                if name == self.positive_label:
                    scores[i] = prob
        # fastText's softmax can exceed 1 by a rounding error.
        return np.clip(scores, 0.0, 1.0)


def load_fasttext(path: str) -> FastTextClassifier:
    info = check_classifier(path, "fasttext")
    try:
        import fasttext
    except ImportError as error:
        raise RuntimeError(MISSING_EXTRA) from error
    model_path = fs.join(model_dir(path), FASTTEXT_FILE)
    with _local_copy(model_path) as local:
        model = fasttext.load_model(local)
    return FastTextClassifier(model, info["positive_label"], int(info["preprocess"]["max_chars"]))


@dataclass
class EmbeddingHead:
    """A logistic-regression head on sentence embeddings: P(positive) = sigmoid(x . w + b)."""

    weights: np.ndarray
    bias: float
    spec: EncoderSpec

    @property
    def dim(self) -> int:
        return int(self.weights.shape[0])

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        logits = vectors.astype(np.float64) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-logits))


def load_head(path: str) -> EmbeddingHead:
    info = check_classifier(path, "embedding")
    head = info["head"]
    return EmbeddingHead(
        np.asarray(head["weights"], dtype=np.float64), float(head["bias"]), EncoderSpec(**head["encoder"])
    )


@contextmanager
def _local_copy(path: str) -> Iterator[str]:
    """A local file path for `path`: the path itself when local, else a temporary copy (fastText reads only
    local files)."""
    if fs.is_local(path):
        yield fs.local_path(path)
        return
    filesystem, name = fs.filesystem(path)
    handle, temporary = tempfile.mkstemp(suffix=".bin")
    try:
        with os.fdopen(handle, "wb") as out, filesystem.open_input_stream(name) as stream:
            while block := stream.read(1 << 20):
                out.write(block)
        yield temporary
    finally:
        os.unlink(temporary)
