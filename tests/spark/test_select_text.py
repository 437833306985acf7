"""dsir and budget through Spark: DSIR on the real corpora (target: news articles), budget arithmetic."""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import pytest

from tests.conftest import shared_corpus
from thresher.conf import InputConfig
from thresher.errors import ThresherError
from thresher.io.delta import DeltaStore
from thresher.io.ingest import documents, ingest
from thresher.io.inputs import plan_inputs
from thresher.stages.base import StageContext
from thresher.stages.selection.budget import Budget, BudgetParams
from thresher.stages.selection.dsir import Dsir, DsirParams

pytestmark = pytest.mark.spark

POOL = (
    "dolma_cc_2019_30_raw.jsonl",
    "olmo_c4_1000.jsonl",
    "dclm_human_quality_499.jsonl",
    "dolma_ccnet_head_30.jsonl",
)
TARGET = "aeb_gold_articles_181.jsonl"
_WORD = re.compile(r"[a-z]+")


def _context(spark, tmp_path, name: str) -> StageContext:
    return StageContext(spark, "test", "filter", 42, str(tmp_path / f"scratch_{name}"))


def _unigram_kl(target: list[str], sample: list[str]) -> float:
    """KL(target || sample) of lowercase letter-word unigrams, add-one smoothed over the joint vocabulary: a
    measure independent of DSIR's hashed features."""
    t = Counter(w for text in target for w in _WORD.findall(text.lower()))
    s = Counter(w for text in sample for w in _WORD.findall(text.lower()))
    vocab = sorted(set(t) | set(s))
    p = np.array([t[w] + 1.0 for w in vocab])
    q = np.array([s[w] + 1.0 for w in vocab])
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log(p / q)))


def test_dsir_selects_target_like_documents_from_the_real_pool(spark, tmp_path):
    pool_paths = [str(shared_corpus(name)) for name in POOL]
    target_path = str(shared_corpus(TARGET))
    store = DeltaStore(spark, "delta-rs")
    # As in a run, the stage reads committed data (not the JSON files again for every pass).
    with ingest(spark, plan_inputs(spark, (InputConfig(path=pool_paths),)), store) as ingested:
        pool = _context(spark, tmp_path, "pool").materialize(documents(ingested), "pool")
    params = DsirParams(target=[target_path], target_count=200)
    selections = []
    for partitions in (1, 4):
        ctx = _context(spark, tmp_path, f"dsir{partitions}")
        out, report = Dsir(params).apply(pool.repartition(partitions), ctx)
        rows = out.select("doc_id", "text", "dsir.keep", "dsir.reason", "dsir.rank").collect()
        selections.append({r["doc_id"] for r in rows if r["keep"]})
    assert selections[0] == selections[1]
    assert len(selections[0]) == 200 and len(rows) == pool.count()
    assert {r["reason"] for r in rows if not r["keep"]} == {"not_sampled"}
    assert report.metrics["target_docs"] == 181 and report.metrics["pool_docs"] == len(rows)
    assert report.metrics["kl_reduction"] > 0
    assert report.metrics["kl_target_selected"] < report.metrics["kl_target_random"]
    target = [r["text"] for r in spark.read.json(target_path).select("text").collect()]
    texts = {r["doc_id"]: r["text"] for r in rows}
    selected_kl = _unigram_kl(target, [texts[d] for d in sorted(selections[0])])
    rng = np.random.default_rng(0)
    ids = sorted(texts)
    for _ in range(5):
        random_sample = [texts[ids[i]] for i in rng.choice(len(ids), 200, replace=False)]
        assert selected_kl < _unigram_kl(target, random_sample)


def _docs(spark, rows):
    """rows: (doc_id, words, source, score) -> documents whose text has that many words."""
    data = [(d, " ".join(["w"] * n), src, s) for d, n, src, s in rows]
    df = spark.createDataFrame(data, "doc_id string, text string, source string, score double")
    return df.selectExpr("doc_id", "text", "source", "named_struct('score', score) AS quality")


def test_budget_takes_the_best_documents_per_mixture_share(spark, tmp_path):
    rows = [
        ("a1", 40, "web", 0.9),
        ("a2", 30, "web", 0.8),
        ("a3", 50, "web", 0.7),
        ("a4", 10, "web", None),
        ("b1", 20, "books", 0.95),
        ("b2", 20, "books", 0.1),
        ("c1", 100, "code", 0.99),
    ]
    params = BudgetParams(
        unit="words", budget=150, scores={"quality.score": 1.0}, mixture_by="source", mixture={"web": 3, "books": 1}
    )
    ctx = _context(spark, tmp_path, "budget")
    out, report = Budget(params).apply(_docs(spark, rows).repartition(3), ctx)
    got = {r[0]: tuple(r[1:]) for r in out.select("doc_id", "budget.keep", "budget.reason", "budget.quota").collect()}
    # web gets 3/4 of 150 = 112.5 words, books 37.5; the tied half goes to the first group by name (books: 38).
    # Best first: web keeps a1 40 + a2 30 = 70 (a3 would make 120); books b1 20 (b2 would make 40); code has
    # weight 0.
    assert {d for d, g in got.items() if g[0]} == {"a1", "a2", "b1"}
    assert got["a3"] == (False, "over_budget", 112) and got["b2"][2] == 38 and got["c1"][2] == 0
    assert report.metrics["selected_units"] == 90 and report.metrics["selected_docs"] == 3


def test_budget_in_documents_redistributes_and_ranks_null_scores_last(spark, tmp_path):
    rows = [(f"x{i}", 5, "big", float(i)) for i in range(6)] + [("y0", 5, "small", 1.0), ("x9", 5, "big", None)]
    params = BudgetParams(unit="docs", budget=5, scores={"quality.score": 2.0}, mixture_by="source")
    out, _report = Budget(params).apply(_docs(spark, rows), _context(spark, tmp_path, "docs"))
    kept = {r[0] for r in out.where("budget.keep").select("doc_id").collect()}
    # Equal weights: 2.5 each, small holds 1, so big gets 4: its four best scores.
    assert kept == {"y0", "x5", "x4", "x3", "x2"}


def test_budget_names_a_missing_score_column(spark, tmp_path):
    params = BudgetParams(budget=10, scores={"quality_fasttext.score": 1.0})
    with pytest.raises(ThresherError, match=r"quality_fasttext\.score"):
        Budget(params).apply(_docs(spark, [("a", 3, "s", 1.0)]), _context(spark, tmp_path, "missing"))


def test_budget_params_need_a_budget():
    with pytest.raises(ValueError, match="budget"):
        BudgetParams()
    assert math.isclose(BudgetParams(budget=1).other_weight, 0.0)
