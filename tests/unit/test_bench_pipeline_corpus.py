"""The generator of the scaling benchmark's corpora (bench/pipeline_corpus.py): deterministic, lengths drawn
from the real documents, planted exact and near duplicates at the configured rates, new documents distinct."""

from __future__ import annotations

import collections
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ is a package at the repository root

from bench.pipeline_corpus import EXACT_RATE, NEAR_RATE, scaled_documents

WORDS = [
    "river",
    "stone",
    "quiet",
    "market",
    "window",
    "garden",
    "letter",
    "summer",
    "travel",
    "bright",
    "paper",
    "engine",
    "lamp",
    "harbor",
]


def _real(count: int = 60) -> list[dict]:
    rng = random.Random(7)
    docs = []
    for number in range(count):
        lines = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 20))) + "." for _ in range(rng.randint(2, 12))
        ]
        docs.append({"id": str(number), "text": "\n".join(lines), "url": f"https://site{number % 5}.org/a/{number}"})
    return docs


def test_same_seed_same_documents_other_seed_others() -> None:
    real = _real()
    first = list(scaled_documents(real, 300, seed=1))
    assert first == list(scaled_documents(real, 300, seed=1))
    assert [d["text"] for d in first] != [d["text"] for d in scaled_documents(real, 300, seed=2)]
    assert len({d["id"] for d in first}) == 300


def test_planted_duplicates_at_their_rates_and_new_documents_distinct() -> None:
    docs = list(scaled_documents(_real(), 4000, seed=3))
    kinds = collections.Counter(d["kind"] for d in docs)
    assert abs(kinds["exact"] / 4000 - EXACT_RATE) < 0.02
    assert abs(kinds["near"] / 4000 - NEAR_RATE) < 0.02
    texts = {d["text"] for d in docs if d["kind"] != "exact"}
    new = [d["text"] for d in docs if d["kind"] == "new"]
    # Built from random runs of lines with word noise: a collision needs a one-line document drawn twice.
    assert len(set(new)) >= 0.99 * len(new)
    # Every exact copy repeats an earlier document's text; a near duplicate is not an exact one.
    assert all(d["text"] in texts for d in docs if d["kind"] == "exact")


def test_lengths_follow_the_real_documents() -> None:
    real = _real()
    docs = [d for d in scaled_documents(real, 2000, seed=4) if d["kind"] == "new"]
    real_lengths = sorted(len(d["text"]) for d in real)
    made = sorted(len(d["text"]) for d in docs)
    median_real, median_made = real_lengths[len(real_lengths) // 2], made[len(made) // 2]
    # At least the drawn length, overshooting by at most one run of lines.
    assert median_real <= median_made <= 2.5 * median_real
    assert made[0] >= real_lengths[0]
