"""`until`: a run that stops after a prefix of the full pipeline, for schedulers that run one task per stage group.

The prefixes must plan the whole config (same fusion, same fingerprints) so that the next task reuses what the
previous one committed, and a retried task never redoes a committed segment, even one after its stopping point.
"""

from __future__ import annotations

import json

import pytest

from tests.spark.test_runner import _corpus, _load, _table
from thresher.errors import ConfigError
from thresher.runner import run_pipeline

pytestmark = pytest.mark.spark


def _manifest(tmp_path) -> dict:
    return json.loads((tmp_path / "out" / "manifest.json").read_text())


def test_prefix_runs_chain_into_the_full_run(spark, tmp_path):
    _corpus(tmp_path / "corpus.jsonl")
    config = _load(tmp_path, fuse_row_stages=False)

    first = run_pipeline(config, spark, until="normalize")
    assert first.stopped_after == "01_normalize" and first.totals == {}
    assert [row["stage"] for row in first.stats] == ["ingest", "normalize"]
    out = tmp_path / "out"
    assert (out / "checkpoints" / "01_normalize" / "_delta_log").is_dir()
    assert not (out / "checkpoints" / "02_length").exists()
    assert not (out / "kept").exists()
    assert _manifest(tmp_path)["status"] == "partial"

    retried = run_pipeline(config, spark, until="normalize")
    assert retried.reused == ["00_ingest", "01_normalize"]

    final = run_pipeline(config, spark)
    assert final.reused == ["00_ingest", "01_normalize"]
    assert final.stopped_after is None
    assert final.totals == {"input_records": 11, "kept": 6, "excluded": 3, "quarantine": 2}
    assert sorted(r.doc_id for r in _table(spark, str(out / "kept")).collect()) == [f"long-{i}" for i in range(6)]
    manifest = _manifest(tmp_path)
    assert manifest["status"] == "succeeded" and "stopped_after" not in manifest
    # One stats row per stage, however many tasks contributed.
    assert sorted(r.stage for r in _table(spark, str(out / "stats")).collect()) == ["ingest", "length", "normalize"]


def test_a_stage_inside_a_fused_pass_runs_the_whole_pass(spark, tmp_path):
    _corpus(tmp_path / "corpus.jsonl")
    config = _load(tmp_path)
    partial = run_pipeline(config, spark, until="normalize")
    assert partial.stopped_after == "01_normalize+length"
    assert [row["stage"] for row in partial.stats] == ["ingest", "normalize", "length"]
    final = run_pipeline(config, spark)
    assert final.reused == ["00_ingest", "01_normalize+length"]
    assert final.totals["kept"] == 6


def test_retrying_an_earlier_task_after_the_run_finished_redoes_nothing(spark, tmp_path):
    _corpus(tmp_path / "corpus.jsonl")
    config = _load(tmp_path, fuse_row_stages=False)
    run_pipeline(config, spark)
    retried = run_pipeline(config, spark, until="normalize")
    # The later, committed checkpoint of the same pipeline is checked and left alone.
    assert retried.reused == ["00_ingest", "01_normalize", "02_length"]
    assert (tmp_path / "out" / "checkpoints" / "02_length" / "_delta_log").is_dir()
    assert _manifest(tmp_path)["status"] == "succeeded"
    assert _table(spark, str(tmp_path / "out" / "stats")).count() == 3


def test_until_a_stage_that_is_not_in_the_pipeline_names_the_stages(spark, tmp_path):
    _corpus(tmp_path / "corpus.jsonl")
    with pytest.raises(ConfigError, match=r"--until dedup: not a stage of this pipeline; its stages are: normalize, "):
        run_pipeline(_load(tmp_path), spark, until="dedup")
