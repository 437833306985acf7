"""SemDeDup on real documents embedded by the `embed` stage (all-MiniLM-L6-v2, offline): planted light
paraphrases of real documents are removed at the README's eps = 0.07, and a set of unrelated real documents
loses nothing at that eps."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.conftest import shared_corpus
from thresher.stages.base import StageContext
from thresher.stages.fused import run_row_stages
from thresher.stages.selection.semantic_dedup import SemanticDedup, SemanticDedupParams

pytestmark = pytest.mark.spark

EPS = 0.07
PLANTED = 30
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _english_short(name: str, count: int) -> list[dict]:
    """The first `count` documents of a corpus with 60-150 words of (almost only) ASCII text: MiniLM embeds
    the first 256 tokens, so an edit anywhere in these documents is seen."""
    out = []
    with open(shared_corpus(name), encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            text = doc.get("text") or ""
            if 60 <= len(text.split()) <= 150 and sum(c.isascii() for c in text) > 0.98 * len(text):
                out.append({"doc_id": f"{name.split('_')[0]}:{doc['id']}", "text": text})
                if len(out) == count:
                    break
    return out


def light_paraphrase(text: str, rng: np.random.Generator) -> str:
    """Two adjacent sentences swapped, ~2% of the words deleted, a share line appended."""
    sentences = _SENTENCE.split(text.strip())
    if len(sentences) >= 3:
        i = int(rng.integers(0, len(sentences) - 1))
        sentences[i], sentences[i + 1] = sentences[i + 1], sentences[i]
    words = " ".join(sentences).split(" ")
    kept = [w for w, drop in zip(words, rng.random(len(words)) < 0.02, strict=True) if not drop]
    return " ".join(kept) + "\nShare this article."


@pytest.fixture(scope="module")
def embedded():
    pytest.importorskip("sentence_transformers")
    from thresher.stages.models.embed import Embed

    unrelated = (
        _english_short("olmo_c4_1000.jsonl", 60)
        + _english_short("dclm_human_quality_499.jsonl", 40)
        + _english_short("aeb_gold_articles_181.jsonl", 20)
    )
    rng = np.random.default_rng(2024)
    planted = [
        {"doc_id": f"paraphrase:{doc['doc_id']}", "text": light_paraphrase(doc["text"], rng)}
        for doc in unrelated[:PLANTED]
    ]
    rows = run_row_stages([Embed()], unrelated + planted, mode="annotate")
    return {r["doc_id"]: r["embed"] for r in rows}, [d["doc_id"] for d in unrelated], [d["doc_id"] for d in planted]


def _dedup(spark, tmp_path, embeddings: dict, ids: list[str], name: str) -> dict[str, tuple]:
    rows = [(doc_id, "", embeddings[doc_id]["vector"]) for doc_id in ids]
    df = spark.createDataFrame(rows, "doc_id string, text string, vector array<float>")
    df = df.selectExpr("doc_id", "text", "named_struct('keep', true, 'vector', vector) AS embed").repartition(3)
    ctx = StageContext(spark, "test", "filter", 42, str(tmp_path / name))
    out, _report = SemanticDedup(SemanticDedupParams(eps=EPS, clusters=4)).apply(df, ctx)
    return {
        r["doc_id"]: (r["keep"], r["duplicate_of"])
        for r in out.select("doc_id", "semantic_dedup.keep", "semantic_dedup.duplicate_of").collect()
    }


def test_unrelated_real_documents_are_all_kept(spark, tmp_path, embedded):
    embeddings, unrelated, _ = embedded
    decisions = _dedup(spark, tmp_path, embeddings, unrelated, "unrelated")
    assert len(decisions) == len(unrelated) >= 110
    assert [d for d, (keep, _) in decisions.items() if not keep] == []


def test_planted_paraphrases_are_removed(spark, tmp_path, embedded):
    embeddings, unrelated, planted = embedded
    decisions = _dedup(spark, tmp_path, embeddings, unrelated + planted, "planted")
    removed = {d: dup for d, (keep, dup) in decisions.items() if not keep}
    assert len(removed) == PLANTED
    for original, paraphrase in zip(unrelated[:PLANTED], planted, strict=True):
        pair = {original, paraphrase}
        (gone,) = pair & set(removed)
        assert removed[gone] == (pair - {gone}).pop()
