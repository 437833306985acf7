"""n-gram LM training on the shared Spark session: the trained ARPA file against a hand-computed modified
Kneser-Ney model (KenLM as the oracle), normalized distributions on real text with pruning, and `train-lm` +
the `perplexity` stage through the runner, scoring exactly as KenLM's own query."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.conftest import shared_corpus
from tests.lm_fixtures import HAND_CORPUS, HAND_PROBS, PRUNED_PROBS, arpa_unigrams, conditional_log10

kenlm = pytest.importorskip("kenlm", reason="needs the `lm` extra (kenlm)")

from thresher.cli import main  # noqa: E402
from thresher.models.ngram_lm import LMOptions, read_summary, score_document, train_ngram_lm  # noqa: E402

pytestmark = pytest.mark.spark


def _texts(spark, texts: list[str]):
    return spark.createDataFrame([(t,) for t in texts], "text string").repartition(2)


@pytest.mark.parametrize(("prune", "expected", "sizes"), [((), HAND_PROBS, [5, 6]), ((0, 1), PRUNED_PROBS, [5, 3])])
def test_spark_training_gives_the_hand_computed_modified_kneser_ney_model(spark, tmp_path, prune, expected, sizes):
    path = tmp_path / "hand.arpa"
    summary = train_ngram_lm(_texts(spark, HAND_CORPUS), LMOptions(order=2, prune=prune), str(path))
    assert summary.ngrams == sizes
    assert summary.discount_fallback_orders == [1, 2] and summary.discounts[1] == [0.5, 1.0, 1.5]
    assert (summary.sentences, summary.tokens, summary.vocabulary) == (3, 6, 4)
    model = kenlm.Model(str(path))
    for (context, word), p in expected.items():
        assert conditional_log10(model, [context], word) == pytest.approx(math.log10(p), abs=1e-6), (context, word)


@pytest.fixture(scope="module")
def c4_model(spark, tmp_path_factory):
    """A pruned trigram model of 200 C4 documents."""
    corpus = shared_corpus("olmo_c4_1000.jsonl")
    texts = [json.loads(line)["text"] for line in corpus.open()][:200]
    path = tmp_path_factory.mktemp("lm") / "c4.arpa"
    summary = train_ngram_lm(_texts(spark, texts), LMOptions(order=3, prune=(0, 0, 1)), str(path))
    return path, summary


def test_a_pruned_model_of_real_text_has_lmplz_discounts_and_sums_to_one(c4_model):
    path, summary = c4_model
    assert summary.discount_fallback_orders == []
    for order_discounts in summary.discounts:
        assert all(0 < d <= k for k, d in zip((1, 2, 3), order_discounts, strict=True))
    assert summary.ngrams[0] == summary.vocabulary + 1  # + <s>
    assert summary.ngrams[2] < summary.ngrams[1]  # singleton trigrams pruned
    model = kenlm.Model(str(path))
    assert model.order == 3
    vocabulary = [w for w in arpa_unigrams(path) if w != "<s>"]
    assert len(vocabulary) == summary.vocabulary
    # Seen, pruned-away and unseen contexts: each conditional distribution sums to one over the vocabulary.
    for context in (["<s>"], ["the"], ["of", "the"], ["<s>", "the"], ["zzqx"], ["the", "zzqx"]):
        total = sum(10 ** conditional_log10(model, context, w) for w in vocabulary)
        assert total == pytest.approx(1.0, abs=1e-4), context


def test_train_lm_and_the_perplexity_stage_score_as_kenlm_does(spark, tmp_path, capsys):
    from tests.spark.test_quality_pipeline import _table
    from thresher.conf import load_config
    from thresher.runner import run_pipeline

    corpus = shared_corpus("dolma_ccnet_head_30.jsonl")
    model_path = tmp_path / "models" / "en.arpa"
    options = ["--order", "3", "--prune", "0", "1", "--lang", "en", "--holdout", "0.2"]
    assert main(["train-lm", str(corpus), "--output", str(model_path), *options]) == 0
    printed = capsys.readouterr().out
    assert "trained a 3-gram model on" in printed and "hold-out" in printed
    info = read_summary(str(model_path))
    assert info["language"] == "en" and info["prune"] == [0, 1, 1]
    heldout = info["extra"]["heldout"]
    assert info["extra"]["train_docs"] + heldout["docs"] == 30 and heldout["scored"] == heldout["docs"] > 0
    cuts = heldout["perplexity_percentiles"]
    assert 1 < cuts["30"] <= cuts["60"] <= cuts["90"]

    scored = shared_corpus("dclm_human_quality_499.jsonl")
    config = load_config(
        data={
            "input": {"path": str(scored)},
            "run": {"output": str(tmp_path / "run"), "mode": "annotate"},
            "stages": {
                "perplexity": {
                    "models": {"en": str(model_path)},
                    "buckets": {"en": [cuts["30"], cuts["60"]]},
                    "max_perplexity": {"en": cuts["90"]},
                }
            },
        }
    )
    result = run_pipeline(config, spark)
    assert result.totals["kept"] == 499
    rows = _table(spark, str(tmp_path / "run" / "kept")).select("text", "perplexity").collect()
    model = kenlm.Model(str(model_path))
    for row in rows:
        log_prob, tokens = score_document(model, row["text"])
        assert row["perplexity"]["log_prob"] == log_prob and row["perplexity"]["tokens"] == tokens
    buckets = {r["perplexity"]["bucket"] for r in rows}
    assert buckets == {"head", "middle", "tail"}
    stats = {r["stage"]: r for r in result.stats}["perplexity"]
    assert stats["reason_counts"].get("high_perplexity", 0) > 0
    assert json.loads(stats["signals"])["signals"]["perplexity"]["count"] == 499


def test_train_lm_refuses_bad_options(tmp_path, capsys):
    assert main(["train-lm", "x.jsonl", "--output", str(tmp_path / "m.arpa"), "--prune", "1"]) == 2
    assert "first value (unigrams) must be 0" in capsys.readouterr().err
    assert main(["train-lm", "x.jsonl", "--output", str(tmp_path / "m.arpa"), "--order", "9"]) == 2
    assert not Path(tmp_path / "m.arpa").exists()
