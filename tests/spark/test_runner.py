"""The runner on the shared Spark session: filter vs annotate, conservation, invariant checks, resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import orjson
import pyarrow.dataset as ds
import pytest
from deltalake import DeltaTable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructField

from tests.conftest import PROJECT_ROOT, shared_corpus
from thresher.conf import PipelineConfig, StageSpec, load_config
from thresher.errors import InvariantError, ResumeError
from thresher.io.delta import DeltaStore
from thresher.runner import run_pipeline
from thresher.stages.base import GlobalStage, Stage, StageContext, StageReport

pytestmark = pytest.mark.spark

LONG = "The committee met on Tuesday to discuss the new timetable for the river ferries. " * 3
SHORT = "Too short to keep."


def _corpus(path: Path) -> Path:
    records = [{"id": f"long-{i}", "text": f"{LONG} Item {i}.\u00a0\u00a0End.\r\n\r\n\r\n\r\nBye"} for i in range(6)]
    records += [{"id": f"short-{i}", "text": SHORT} for i in range(3)]
    lines = [orjson.dumps(r) for r in records] + [b"not json", b'{"id": "n", "text": null}']
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _load(tmp_path: Path, mode: str = "filter", stages: dict | None = None, **run) -> PipelineConfig:
    data = {
        "run": {"output": str(tmp_path / "out"), "mode": mode, **run},
        "input": {"path": str(tmp_path / "corpus.jsonl")},
        "stages": stages if stages is not None else {"normalize": {}, "length": {"min_words": 10}},
    }
    return load_config(data=data)


def _table(spark, path: str) -> DataFrame:
    return DeltaStore(spark, "delta-rs").read(path)


def test_filter_mode_splits_kept_excluded_quarantine(spark, tmp_path):
    _corpus(tmp_path / "corpus.jsonl")
    result = run_pipeline(_load(tmp_path), spark)
    out = tmp_path / "out"
    assert result.totals == {"input_records": 11, "kept": 6, "excluded": 3, "quarantine": 2}
    kept = _table(spark, str(out / "kept")).collect()
    assert sorted(r.doc_id for r in kept) == [f"long-{i}" for i in range(6)]
    assert kept[0].text.endswith("End.\n\n\nBye") and "\u00a0" not in kept[0].text
    assert all(r.length.keep and r.normalize.keep for r in kept)
    excluded = _table(spark, str(out / "excluded")).collect()
    assert {(r.doc_id, r.stage, r.reason) for r in excluded} == {
        (f"short-{i}", "length", "too_few_words") for i in range(3)
    }
    quarantine = {r.reason: r.line for r in _table(spark, str(out / "quarantine")).collect()}
    assert quarantine == {"invalid_json": 10, "null_text": 11}
    stats = {r["stage"]: r for r in result.stats}
    assert [r["stage"] for r in result.stats] == ["ingest", "normalize", "length"]
    assert (stats["ingest"]["docs_in"], stats["ingest"]["docs_out"], stats["ingest"]["docs_excluded"]) == (11, 9, 2)
    assert (stats["length"]["docs_in"], stats["length"]["docs_out"], stats["length"]["docs_excluded"]) == (9, 6, 3)
    assert stats["length"]["reason_counts"] == {"too_few_words": 3}
    # Characters flow from stage to stage; normalize shortened the long documents.
    assert stats["normalize"]["chars_in"] == stats["ingest"]["chars_out"]
    assert stats["normalize"]["chars_out"] == stats["length"]["chars_in"] < stats["normalize"]["chars_in"]
    assert stats["length"]["chars_out"] == sum(len(r.text) for r in kept)
    signals = json.loads(stats["length"]["signals"])["signals"]["words"]
    assert signals["count"] == 9 and signals["quantiles"]["0.0"] == 4.0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "succeeded" and manifest["totals"] == result.totals
    assert manifest["config"]["stages"]["length"]["min_words"] == 10


def test_annotate_mode_removes_nothing(spark, tmp_path):
    _corpus(tmp_path / "corpus.jsonl")
    result = run_pipeline(_load(tmp_path, mode="annotate"), spark)
    assert result.totals == {"input_records": 11, "kept": 9, "excluded": 0, "quarantine": 2}
    kept = _table(spark, str(tmp_path / "out" / "kept"))
    assert kept.where(~F.col("length.keep")).count() == 3
    length = next(r for r in result.stats if r["stage"] == "length")
    assert (length["docs_in"], length["docs_out"], length["docs_excluded"], length["docs_flagged"]) == (9, 9, 0, 3)


class _LosesRows(GlobalStage):
    id = "loses_rows"

    def signal_fields(self) -> list[StructField]:
        return []

    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        kept = df.where(~F.col("doc_id").startswith("short"))
        return kept.withColumn(
            self.id, F.struct(F.lit(True).alias("keep"), F.lit(None).cast("string").alias("reason"))
        ), StageReport()


class _DuplicatesRows(_LosesRows):
    id = "duplicates_rows"

    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        doubled = df.unionByName(df.where(F.col("doc_id") == "long-0"))
        result = F.struct(F.lit(True).alias("keep"), F.lit(None).cast("string").alias("reason"))
        return doubled.withColumn(self.id, result), StageReport()


def _with_stages(config: PipelineConfig, *stages: Stage) -> PipelineConfig:
    specs = tuple(StageSpec(s.id, s) for s in stages)
    return PipelineConfig(config.run, config.inputs, config.spark, specs, config.resolved)


@pytest.mark.parametrize(
    ("stage", "message"),
    [(_LosesRows(), "3 documents were passed to it|9 documents went in"), (_DuplicatesRows(), "went in but")],
)
def test_a_stage_that_loses_or_invents_documents_fails_the_run(spark, tmp_path, stage, message):
    _corpus(tmp_path / "corpus.jsonl")
    with pytest.raises(InvariantError, match=message):
        run_pipeline(_with_stages(_load(tmp_path, stages={}), stage), spark)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "InvariantError" in manifest["error"]
    # The report of the failed run says why, with the stages that did finish.
    assert "The run failed: InvariantError" in (tmp_path / "out" / "report.html").read_text()


def test_resume_reuses_checkpoints_and_refuses_changed_settings(spark, tmp_path):
    corpus = _corpus(tmp_path / "corpus.jsonl")
    first = run_pipeline(_load(tmp_path, fuse_row_stages=False), spark)
    assert first.reused == []
    again = run_pipeline(_load(tmp_path, fuse_row_stages=False), spark)
    assert again.reused == ["00_ingest", "01_normalize", "02_length"]
    assert again.totals == first.totals
    # Stats are not duplicated by a resumed run.
    stats = _table(spark, str(tmp_path / "out" / "stats"))
    assert stats.count() == 3
    with pytest.raises(ResumeError, match=r"02_length .* stages.length.min_words: 10 -> 11"):
        run_pipeline(
            _load(tmp_path, fuse_row_stages=False, stages={"normalize": {}, "length": {"min_words": 11}}), spark
        )
    with pytest.raises(ResumeError, match="other stages than this one"):
        run_pipeline(_load(tmp_path, stages={"normalize": {}, "length": {"min_words": 10}}), spark)
    with pytest.raises(ResumeError, match="holds run"):
        run_pipeline(_load(tmp_path, fuse_row_stages=False, run_id="other"), spark)
    corpus.write_bytes(corpus.read_bytes() + orjson.dumps({"text": "one more document"}) + b"\n")
    with pytest.raises(ResumeError, match=r"00_ingest .* the input: modified .*corpus.jsonl"):
        run_pipeline(_load(tmp_path, fuse_row_stages=False), spark)
    # Refused resumes leave the finished run as it was.
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "succeeded" and manifest["config"]["stages"]["length"]["min_words"] == 10


def test_deleting_a_checkpoint_recomputes_from_there(spark, tmp_path):
    _corpus(tmp_path / "corpus.jsonl")
    run_pipeline(_load(tmp_path, fuse_row_stages=False), spark)
    shutil.rmtree(tmp_path / "out" / "checkpoints" / "01_normalize")
    result = run_pipeline(_load(tmp_path, fuse_row_stages=False), spark)
    assert result.reused == ["00_ingest"]
    assert result.totals["kept"] == 6


def test_demo_config_on_all_shared_corpora_conserves_every_record_of_every_file(spark, tmp_path):
    # One run over every shared corpus at once (a glob), checked file by file through `origin.file`.
    corpora = sorted(shared_corpus("olmo_c4_1000.jsonl").parent.glob("*.jsonl"))
    config = load_config(
        PROJECT_ROOT / "conf" / "demo.yaml",
        input_path=str(corpora[0].parent / "*.jsonl"),
        output=str(tmp_path / "run"),
    )
    result = run_pipeline(config, spark)
    lines = {path.name: sum(1 for _ in path.open("rb")) for path in corpora}
    totals = result.totals
    assert totals["input_records"] == sum(lines.values())
    assert totals["kept"] + totals["excluded"] + totals["quarantine"] == totals["input_records"]
    for table in ("kept", "excluded", "quarantine", "stats"):
        root = str(tmp_path / "run" / table)
        expected = len(result.stats) if table == "stats" else totals[table]
        uris = DeltaTable(root).file_uris()
        assert (ds.dataset(uris).count_rows() if uris else 0) == expected  # readable by delta-rs
        assert _table(spark, root).count() == expected  # and by Spark
    per_file: dict[str, int] = {}
    for table in ("kept", "excluded", "quarantine"):
        file_column = "file" if table == "quarantine" else "origin.file"
        rows = _table(spark, str(tmp_path / "run" / table)).groupBy(F.col(file_column).alias("file")).count().collect()
        for row in rows:
            name = Path(row["file"]).name
            per_file[name] = per_file.get(name, 0) + row["count"]
    assert per_file == lines
