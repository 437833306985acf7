"""Hashed unigram + bigram features of a text (DSIR, Xie et al. 2023).

Tokens are lowercased word and punctuation runs (like a word-punct tokenizer). Each unigram and each bigram
of consecutive tokens is hashed into one of `buckets` bins. Bigram hashes are mixed from the unigram hashes
with 64-bit integer arithmetic, so each token is hashed once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import xxhash

DEFAULT_BUCKETS = 10_000
_TOKEN = re.compile(r"\w+|[^\w\s]+")
_MIX = np.uint64(0x9E3779B97F4A7C15)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _finalize(h: np.ndarray) -> np.ndarray:
    # splitmix64's finalizer: spreads the bits of a combined hash over the whole word.
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def features(text: str, buckets: int = DEFAULT_BUCKETS) -> np.ndarray:
    """Bucket ids of every unigram and bigram of `text` (with repeats), as int64."""
    words = tokens(text)
    if not words:
        return np.empty(0, dtype=np.int64)
    unigrams = np.fromiter((xxhash.xxh3_64_intdigest(w.encode()) for w in words), dtype=np.uint64, count=len(words))
    with np.errstate(over="ignore"):
        bigrams = _finalize(unigrams[:-1] * _MIX + unigrams[1:])
    hashed = np.concatenate([unigrams, bigrams])
    return (hashed % np.uint64(buckets)).astype(np.int64)


def counts(texts: Iterable[str], buckets: int = DEFAULT_BUCKETS) -> np.ndarray:
    """Feature counts summed over `texts`: a float64 vector of length `buckets`."""
    total = np.zeros(buckets, dtype=np.float64)
    for text in texts:
        ids = features(text, buckets)
        if ids.size:
            total += np.bincount(ids, minlength=buckets)
    return total


def distribution(feature_counts: np.ndarray, smoothing: float) -> np.ndarray:
    """Add-`smoothing` estimate of the feature distribution (no bucket has probability zero)."""
    smoothed = feature_counts.astype(np.float64) + smoothing
    return smoothed / smoothed.sum()


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats; both strictly positive distributions over the same buckets."""
    return float(np.sum(p * (np.log(p) - np.log(q))))


def log_importance(texts: Iterable[str], log_ratio: np.ndarray) -> np.ndarray:
    """Per text: sum over its features of log p_target - log p_raw, i.e. the log importance weight of the
    bag-of-hashed-n-grams model."""
    buckets = len(log_ratio)
    return np.array([float(log_ratio[features(t, buckets)].sum()) for t in texts], dtype=np.float64)
