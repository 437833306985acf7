"""fix_mojibake passes ftfy only the lines it could change: the same result as ftfy on the whole text."""

from __future__ import annotations

import json
import random

import ftfy
import pytest

from tests.conftest import shared_corpus
from thresher.text.refine import _FTFY, _SUSPECT, fix_mojibake

# Pieces ftfy acts on (mojibake, entities, controls, terminal escapes, lone surrogates, byte order marks, the
# a0 byte read as a space, lossy sequences) and pieces it leaves alone, in ASCII and beyond.
_PIECES = [
    "The cafÃ© doesnâ€™t open",
    "Fish &amp; chips",
    "&lt;b&gt;bold&lt;/b&gt;",
    "<p>markup</p>",
    "a < b",
    "\x1b[31mred\x1b[0m",
    "bell\x07 and nul\x00",
    "\x0bvertical\x0c form",
    "\ufeffbom",
    "\ud800 lone",
    "Ã  la carte",
    "Ã\xa0 la",
    "sÃ£o paulo",
    "\x80\x93 c1",
    "caf\ufffd lossy",
    "naïve café",
    "plain words only",
    "  spaced   out  ",
    "",
    "\r",
    "数据 中文",
    "&#233;t&#xE9;",
]


def _whole(text: str) -> str:
    return ftfy.fix_text(text, _FTFY) if _SUSPECT.search(text) else text


def test_random_mixes_of_lines_give_ftfys_result():
    rng = random.Random(16)
    for _ in range(3000):
        lines = [rng.choice(_PIECES) + rng.choice(["", " ", "x", "&"]) for _ in range(rng.randint(1, 8))]
        text = rng.choice(["\n", "\r\n", "\n\n"]).join(lines) + rng.choice(["", "\n"])
        assert fix_mojibake(text) == _whole(text), repr(text)


def test_every_ascii_character_in_a_suspect_text():
    for code in range(128):
        text = f"cafÃ© line\nbefore {chr(code)}after &amp; {chr(code)}\n{chr(code)}"
        assert fix_mojibake(text) == _whole(text), code
        assert fix_mojibake(f"ok {chr(code)}\nâ€™") == _whole(f"ok {chr(code)}\nâ€™"), code


@pytest.mark.parametrize("name", ["dolma_cc_2019_30_raw.jsonl", "olmo_c4_1000.jsonl", "dclm_human_quality_499.jsonl"])
def test_real_documents_give_ftfys_result(name):
    path = shared_corpus(name)
    suspect = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            text = json.loads(line).get("text") or ""
            suspect += bool(_SUSPECT.search(text))
            assert fix_mojibake(text) == _whole(text)
    assert suspect > 0
