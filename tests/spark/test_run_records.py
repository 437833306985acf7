"""Run records stay true through kills and recomputes (issue 12, items 7, 8, 11, 14): one stats row per (run,
stage), timings true or absent, and only what thresher provably wrote is ever deleted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import orjson
import pytest

from thresher.checkpoints import Checkpoints
from thresher.conf import PipelineConfig, load_config
from thresher.errors import ResumeError
from thresher.io.delta import DeltaStore
from thresher.report.run_data import load_run
from thresher.runner import run_pipeline

pytestmark = pytest.mark.spark

TEXT = "The committee met on Tuesday to discuss the new timetable for the river ferries and the bridge. "


def _config(tmp_path: Path) -> PipelineConfig:
    corpus = tmp_path / "corpus.jsonl"
    if not corpus.exists():
        records = [{"id": f"d{i}", "text": TEXT * (1 + i % 3) + f"Item {i}."} for i in range(12)]
        records += [{"id": f"s{i}", "text": "too short"} for i in range(3)]
        corpus.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")
    data = {
        "run": {"output": str(tmp_path / "out"), "fuse_row_stages": False, "report": False},
        "input": {"path": str(corpus)},
        "stages": {"normalize": {}, "length": {"min_words": 10}},
    }
    return load_config(data=data)


def _stats_rows(spark, tmp_path: Path) -> list[dict]:
    rows = DeltaStore(spark, "delta-rs").read(str(tmp_path / "out" / "stats")).collect()
    return [r.asDict(recursive=True) for r in rows]


def test_a_recompute_leaves_one_stats_row_per_stage(spark, tmp_path):
    """Item 7: delete a checkpoint and the later ones, rerun: stats/ and the report had the old and new rows."""
    run_pipeline(_config(tmp_path), spark)
    for name in ("01_normalize", "02_length"):
        shutil.rmtree(tmp_path / "out" / "checkpoints" / name)
    result = run_pipeline(_config(tmp_path), spark)
    assert result.reused == ["00_ingest"]
    stages = [r["stage"] for r in _stats_rows(spark, tmp_path)]
    assert sorted(stages) == ["ingest", "length", "normalize"]
    assert [s.stage for s in load_run(spark, str(tmp_path / "out"), examples_per_group=0).stats] == [
        "ingest",
        "normalize",
        "length",
    ]


def test_a_kill_right_after_a_commit_leaves_true_timings(spark, tmp_path, monkeypatch):
    """Item 8: killed after 02_length committed but before it was recorded, the resumed run logged and stored
    `(0.0 s, 1670000000000 docs/s)`, and the ingest row had started_at == finished_at."""
    commit = Checkpoints.commit

    def commit_then_die(self: Checkpoints, name: str, frame):
        committed = commit(self, name, frame)
        if name == "02_length":
            raise KeyboardInterrupt
        return committed

    monkeypatch.setattr(Checkpoints, "commit", commit_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(_config(tmp_path), spark)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "02_length" not in manifest["segments"]
    monkeypatch.setattr(Checkpoints, "commit", commit)

    result = run_pipeline(_config(tmp_path), spark)
    assert result.reused == ["00_ingest", "01_normalize", "02_length"]
    rows = {r["stage"]: r for r in _stats_rows(spark, tmp_path)}
    assert sorted(rows) == ["ingest", "length", "normalize"]
    for row in rows.values():
        assert row["started_at"] < row["finished_at"]
        assert 0 < row["wall_seconds"] < 600
        assert row["docs_per_second"] == pytest.approx(row["docs_in"] / row["wall_seconds"])
    # What the checkpoint proves was recorded, so a report made later shows the same.
    recorded = json.loads((tmp_path / "out" / "manifest.json").read_text())["segments"]["02_length"]
    assert recorded["wall_seconds"] == pytest.approx(rows["length"]["wall_seconds"])


def test_folders_thresher_did_not_write_are_never_deleted(spark, tmp_path):
    """Item 11: any folder under checkpoints/ that was not a committed checkpoint was removed."""
    out = tmp_path / "out"
    notes = out / "checkpoints" / "my_notes"
    notes.mkdir(parents=True)
    (notes / "keep.txt").write_text("mine")
    run_pipeline(_config(tmp_path), spark)
    assert (notes / "keep.txt").read_text() == "mine"

    # Where a checkpoint must be recomputed, a folder without thresher's marker stops the run untouched.
    shutil.rmtree(out / "checkpoints" / "02_length")
    foreign = out / "checkpoints" / "02_length"
    foreign.mkdir()
    (foreign / "data.csv").write_text("a,b\n")
    with pytest.raises(ResumeError, match=r"02_length.*thresher did not write what is there"):
        run_pipeline(_config(tmp_path), spark)
    assert (foreign / "data.csv").read_text() == "a,b\n"

    # A leftover of thresher's own (its marker, no commit) is removed and recomputed.
    shutil.rmtree(foreign)
    foreign.mkdir()
    (foreign / "_segment.json").write_text('{"fingerprint": "x"}')
    result = run_pipeline(_config(tmp_path), spark)
    assert result.reused == ["00_ingest", "01_normalize"] and result.totals["kept"] == 12


def test_a_killed_final_table_write_is_cleaned_up_where_provably_ours(spark, tmp_path):
    """Item 14: a killed write left Spark's `_temporary` inside excluded/."""
    run_pipeline(_config(tmp_path), spark)
    excluded = tmp_path / "out" / "excluded"
    killed = excluded / "part-0123456789abcdef"
    attempt = killed / "_temporary" / "0" / "_temporary" / "attempt_202612010000_0001_m_000000_0"
    attempt.mkdir(parents=True)
    (attempt / "part-00000-x.snappy.parquet").write_bytes(b"PAR1 torn")
    (excluded / "README.txt").write_text("someone's note")
    lookalike = excluded / "part-not-a-commit"
    (lookalike / "_temporary").mkdir(parents=True)

    result = run_pipeline(_config(tmp_path), spark)
    assert not killed.exists()
    assert (excluded / "README.txt").exists() and lookalike.exists()
    assert DeltaStore(spark, "delta-rs").read(str(excluded)).count() == result.totals["excluded"] == 3
