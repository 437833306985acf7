"""Generated documents for the dedup tests: pseudo-words from syllables, so unrelated documents share
(almost) no shingle, and near-duplicates with a controlled share of words changed."""

from __future__ import annotations

import random

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "fi", "gu", "he", "ju", "be"]


def vocabulary(size: int = 4000, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def document(rng: random.Random, words: list[str], length: int) -> str:
    sentences, current = [], []
    for _ in range(length):
        current.append(rng.choice(words))
        if len(current) >= rng.randint(6, 14):
            sentences.append(" ".join(current).capitalize() + ".")
            current = []
    if current:
        sentences.append(" ".join(current).capitalize() + ".")
    return " ".join(sentences)


def near_duplicate(rng: random.Random, text: str, words: list[str], changes: int) -> str:
    """`text` with `changes` words replaced by other words."""
    tokens = text.split(" ")
    for position in rng.sample(range(len(tokens)), changes):
        tokens[position] = rng.choice(words)
    return " ".join(tokens)
