"""The four rule sets fused (Gopher repetition, Gopher quality, FineWeb quality, C4 quality, as bench.quality_speed
runs them) give exactly the signals, decisions and rewritten texts pinned from an earlier implementation: on the
shared real corpora (skipped when absent) and on generated text that exercises every rule.

The pins are SHA-256 digests of the rows as JSON (floats written exactly), so a speed-up that changes any value,
however slightly, fails here; bench.quality_agreement checks the decisions against datatrove itself."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import pytest

from tests.conftest import shared_corpus
from thresher.stages.fused import run_row_stages
from thresher.stages.quality.c4 import C4Quality
from thresher.stages.quality.fineweb import FineWebQuality
from thresher.stages.quality.gopher import GopherQuality, GopherRepetition

STAGE_IDS = ("gopher_repetition", "gopher_quality", "fineweb_quality", "c4_quality")
PINNED = {
    "generated": "81e2a4b9120014e3719856f2f6cdf82b9be593cfd6601e48f1ab823f396d3323",
    "dolma_cc_2019_30_raw.jsonl": "6f4eb1411efc6c488dff6297e5faed62e14b982f5f848f7b9e26d0b5a892e389",
    "olmo_c4_1000.jsonl": "6f2d19d999ef380dd211b796dfdd4da3bde6fb7c889b9b7075624586e11d034b",
    "dclm_human_quality_499.jsonl": "52dd5546a7950633a5e05f972ecc85858fcdbc626ff0cb734626ae6d8784d20e",
}

_WORDS = (  # noqa: SIM905
    "the be to of and that have with river town mill spring water snow people boats ground children bridge "
    "weather harvest bread evening lamps streets quiet e.g. U.S. don't it's 3.5km $20 +1 well-known and/or "
    "http://example.com/a?b=1 naïve Москва 東京 #tag ... … — – -- (see) [1] [edit] {x} javascript cookies "
    "lorem ipsum privacy policy terms of use • - 1990s Mr. Dr. a.m. I'm"
).split()
_ENDS = (".", ".", ".", "!", "?", "", "", "...", "…", '."', ":", ";", " [1]", " [citation needed].")
_SPACES = (" ", " ", " ", " ", " ", "  ", "\t", "\u00a0", " \u3000 ")


def _line(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.choice((0, 1, 2, 3, 5, 8, 13, 21, 40)))]
    text = ""
    for i, word in enumerate(words):
        if i:
            text += rng.choice(_SPACES)
        text += word
        if rng.random() < 0.1:
            text += rng.choice((".", "!", "?", ". ", ".  ", ",", "..."))
    prefix = rng.choice(("", "", "", "• ", "- ", "  ", "\t"))
    return prefix + text + rng.choice(_ENDS) + rng.choice(("", "", " ", "\t"))


def generated_docs(count: int = 400, seed: int = 16) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    docs: list[dict[str, Any]] = [{"id": "empty", "text": ""}, {"id": "blank", "text": " \n\n \t\n"}]
    for i in range(count):
        lines = [_line(rng) for _ in range(rng.choice((1, 2, 4, 8, 16, 40)))]
        if rng.random() < 0.3:  # repeated lines and paragraphs
            lines += rng.choices(lines, k=rng.randint(1, len(lines)))
        if rng.random() < 0.2:  # a repeated passage (n-gram repetition)
            passage = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 15)))
            lines.append(" ".join([passage] * rng.randint(2, 12)))
        separators = [rng.choice(("\n", "\n", "\n", "\n\n", "\n\n\n", "\r\n", "\u2028", "\x0c")) for _ in lines]
        docs.append({"id": f"g{i}", "text": "".join(line + sep for line, sep in zip(lines, separators, strict=True))})
    return docs


def digest(docs: list[dict[str, Any]]) -> str:
    stages = [GopherRepetition(), GopherQuality(), FineWebQuality(), C4Quality()]
    rows = run_row_stages(stages, [{"id": d["id"], "text": d["text"]} for d in docs], mode="annotate")
    kept = [{k: row[k] for k in ("id", "rewritten_text", *STAGE_IDS)} for row in rows]
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()


def test_generated_text_gives_the_pinned_signals() -> None:
    assert digest(generated_docs()) == PINNED["generated"]


@pytest.mark.parametrize("name", [n for n in PINNED if n.endswith(".jsonl")])
def test_shared_corpus_gives_the_pinned_signals(name: str) -> None:
    path = shared_corpus(name)
    docs = [json.loads(line) for line in path.open()]
    assert digest([{"id": str(d.get("id", i)), "text": d["text"]} for i, d in enumerate(docs)]) == PINNED[name]
