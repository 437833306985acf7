"""Generated documents for the classifier tests: well-formed prose vs. keyword spam, and abusive vs. civil
messages. Written for these tests (no corpus text); deterministic for a seed."""

from __future__ import annotations

import json
import random
from pathlib import Path

_SUBJECTS = ["The committee", "A small team", "The researchers", "Our library", "The city council", "Each student"]
_VERBS = ["reviewed", "described", "measured", "explained", "compared", "documented", "studied"]
_OBJECTS = [
    "the history of the river valley",
    "how glaciers shape mountain ranges",
    "the results of the soil survey",
    "the structure of the old bridge",
    "the migration of coastal birds",
    "several methods for teaching fractions",
    "the effects of light on plant growth",
]
_CLAUSES = [
    "because the earlier records were incomplete",
    "so that future readers can repeat the work",
    "although the data came from many sources",
    "after a long period of careful observation",
    "while noting the limits of each approach",
]
_PRODUCTS = ["pills", "watches", "loans", "casino bonus", "followers", "replica bags", "crypto"]
_SPAM = ["BUY NOW", "cheap", "best price", "click here", "free shipping", "limited offer", "!!!", "discount", "$$$"]
_INSULTS = ["you idiot", "stupid moron", "shut up loser", "you are pathetic trash", "worthless clown", "dumb fool"]
_CIVIL = [
    "thanks for the helpful answer",
    "I think the second option works better",
    "could you share the source for that figure",
    "good point about the schedule",
    "I agree with most of this summary",
]


def prose(rng: random.Random, sentences: int) -> str:
    return " ".join(
        f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_CLAUSES)}."
        for _ in range(sentences)
    )


def spam(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_SPAM + _PRODUCTS) for _ in range(words))


def quality_corpus(n_good: int, n_bad: int, seed: int = 7) -> tuple[list[dict], list[dict]]:
    """(good, bad) documents with ids; good are prose paragraphs, bad keyword spam of similar length."""
    rng = random.Random(seed)
    good = [{"id": f"good-{i}", "text": prose(rng, rng.randint(3, 8))} for i in range(n_good)]
    bad = [{"id": f"bad-{i}", "text": spam(rng, rng.randint(20, 70))} for i in range(n_bad)]
    return good, bad


def toxicity_corpus(n_toxic: int, n_civil: int, seed: int = 11) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    toxic = [
        {"id": f"toxic-{i}", "text": f"{rng.choice(_CIVIL)} but {rng.choice(_INSULTS)}, {rng.choice(_INSULTS)}"}
        for i in range(n_toxic)
    ]
    civil = [{"id": f"civil-{i}", "text": f"{rng.choice(_CIVIL)}. {rng.choice(_CIVIL)}."} for i in range(n_civil)]
    return toxic, civil


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path
