"""A run killed with SIGKILL in its second stage resumes and yields the same kept documents."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from deltalake import DeltaTable

from tests.conftest import PROJECT_ROOT, TEST_SPARK_CONF
from tests.e2e.signals import signal_when_logged
from thresher.conf import load_config
from thresher.demo import generate_demo_corpus
from thresher.runner import run_pipeline

pytestmark = [pytest.mark.e2e, pytest.mark.spark, pytest.mark.slow]


STAGES = "normalize,length,exact_dedup"


def _kept_ids(output) -> set[str]:
    import pyarrow.dataset as ds

    table = ds.dataset(DeltaTable(str(output / "kept")).file_uris()).to_table(columns=["doc_id"])
    return set(table.column("doc_id").to_pylist())


def _command(corpus, output) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "thresher.cli",
        "run",
        "conf/demo.yaml",
        "--input",
        str(corpus),
        "--output",
        str(output),
        "--set",
        "run.fuse_row_stages=false",
        # The demo's minhash_dedup adds half a minute per run and nothing to what resume is tested for.
        "--stages",
        STAGES,
    ]
    for key in ("spark.master", "spark.driver.memory", "spark.sql.shuffle.partitions"):
        args += ["--spark-conf", f"{key}={TEST_SPARK_CONF[key]}"]
    return args


def test_sigkill_in_second_stage_then_rerun_resumes(spark, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    generate_demo_corpus(str(corpus), 1500, 7)
    killed_run = tmp_path / "killed"
    process, seen = signal_when_logged(_command(corpus, killed_run), "02_length: started", signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "".join(seen[-20:])
    checkpoints = killed_run / "checkpoints"
    assert (checkpoints / "01_normalize" / "_delta_log").is_dir()
    assert not (checkpoints / "02_length" / "_delta_log").exists(), "the kill came after the stage committed"

    rerun = subprocess.run(_command(corpus, killed_run), cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "reused committed checkpoints: 00_ingest, 01_normalize" in rerun.stdout

    reference = tmp_path / "reference"
    config = load_config(
        PROJECT_ROOT / "conf" / "demo.yaml",
        input_path=str(corpus),
        output=str(reference),
        only_stages=STAGES.split(","),
    )
    run_pipeline(config, spark)
    assert _kept_ids(killed_run) == _kept_ids(reference)
    assert len(_kept_ids(reference)) > 1000
