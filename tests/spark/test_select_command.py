"""`thresher select`: selection stages over an earlier annotate run's kept/ table, with that run's columns
carried through unchanged (no rescoring), writing the usual tables."""

from __future__ import annotations

import json

import pytest

from tests.conftest import shared_corpus
from thresher.cli import main
from thresher.conf import load_config
from thresher.io.delta import DeltaStore
from thresher.runner import run_pipeline

pytestmark = pytest.mark.spark


def test_select_from_an_annotated_run(spark, tmp_path):
    scored = tmp_path / "scored"
    first = load_config(
        data={
            "run": {"output": str(scored), "mode": "annotate"},
            "input": {"path": str(shared_corpus("dclm_human_quality_499.jsonl"))},
            "stages": {"normalize": {}, "length": {"min_words": 100}},
        }
    )
    run_pipeline(first, spark)
    store = DeltaStore(spark, "delta-rs")
    earlier = {r["doc_id"]: r for r in store.read(str(scored / "kept")).collect()}
    conf = tmp_path / "select.yaml"
    conf.write_text(
        "run: {mode: filter}\n"
        "stages:\n"
        "  keep_if: {condition: 'length.keep', reason: too_short}\n"
        "  budget: {unit: words, budget: 30000, scores: {length.words: 1.0}}\n"
    )
    selected = tmp_path / "selected"
    assert main(["-q", "select", "--from", str(scored), "--conf", str(conf), "--output", str(selected)]) == 0

    kept = store.read(str(selected / "kept")).collect()
    excluded = store.read(str(selected / "excluded")).collect()
    assert store.read(str(selected / "quarantine")).count() == 0
    assert sorted(r["doc_id"] for r in kept + excluded) == sorted(earlier)
    # The earlier run's columns arrive unchanged: its scores are reused, not recomputed.
    for row in kept[:20] + excluded[:20]:
        assert row["length"] == earlier[row["doc_id"]]["length"]
        # It goes on with the text the annotate run's rewrites made; the input's text stays beside it.
        assert row["text"] == (earlier[row["doc_id"]]["rewritten_text"] or earlier[row["doc_id"]]["text"])
        assert row["original_text"] == earlier[row["doc_id"]]["text"]
        assert row["origin"] == earlier[row["doc_id"]]["origin"]
    assert all(r["length"]["keep"] for r in kept)
    assert {r["reason"] for r in excluded if r["stage"] == "keep_if"} == {"too_short"}
    assert {r["reason"] for r in excluded if r["stage"] == "budget"} == {"over_budget"}
    flagged = sum(1 for r in earlier.values() if not r["length"]["keep"])
    assert sum(1 for r in excluded if r["stage"] == "keep_if") == flagged
    # The longest documents go first (score = length.words) while the total stays within 30,000 words; the
    # next one in that order does not fit.
    words = sum(r["length"]["words"] for r in kept)
    over = [r["length"]["words"] for r in excluded if r["stage"] == "budget"]
    assert words <= 30_000 < words + max(over)
    assert min(r["length"]["words"] for r in kept) >= max(over)

    manifest = json.loads((selected / "manifest.json").read_text())
    assert manifest["status"] == "succeeded" and manifest["config"]["input"][0]["format"] == "run"
    assert manifest["totals"]["input_records"] == len(earlier)
