"""spark-submit on a real standalone cluster (a master and two workers on 127.0.0.1, separate processes):
the output equals a local run, and a run that loses a worker (SIGKILL of the worker, its executor JVM and its
Python workers) while the dedup stage runs still finishes with the same kept documents."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from deltalake import DeltaTable
from jobs.build_pyfiles import build as build_pyfiles

from tests.conftest import PROJECT_ROOT, SHARED_DATA
from tests.e2e.standalone import FAST_JVM, StandaloneCluster, Submission
from thresher.conf import load_config
from thresher.demo import generate_demo_corpus
from thresher.plan import make_plan
from thresher.runner import run_pipeline

pytestmark = [pytest.mark.e2e, pytest.mark.spark, pytest.mark.slow]

# Raw crawl text with exact copies and near-duplicate groups: the dedup stage has real work to do.
SHARED_CORPUS = "dolma_cc_2019_30_raw.jsonl"
KILLED_STAGE = "minhash_dedup"
PIPELINE = """
run: {mode: filter, report: false}
input: {path: corpus.jsonl, format: jsonl}
spark: {spark.sql.shuffle.partitions: 4}
stages:
  normalize: {}
  length: {min_words: 20}
  minhash_dedup: {}
"""
JOB_TIMEOUT = 600


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The shared corpus when it is beside the project, else the demo corpus (a bare clone still runs this)."""
    shared = SHARED_DATA / SHARED_CORPUS
    if shared.is_file():
        return shared
    path = tmp_path_factory.mktemp("corpus") / "demo.jsonl"
    generate_demo_corpus(str(path), 800, 7)
    return path


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "pipeline.yaml"
    path.write_text(PIPELINE)
    return path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = StandaloneCluster(tmp_path_factory.mktemp("standalone"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        stray = cluster.stray()
        cluster.kill_stray()
        assert not stray, f"processes outlived the cluster: {stray}"


@pytest.fixture(scope="module")
def local_run(spark, config, corpus, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("local") / "run"
    result = run_pipeline(load_config(config, input_path=str(corpus), output=str(output)), spark)
    assert result.stats[-1]["stage"] == KILLED_STAGE and result.stats[-1]["docs_excluded"] > 0
    return output


@pytest.fixture(scope="module")
def py_files(tmp_path_factory) -> Path:
    return build_pyfiles(tmp_path_factory.mktemp("dist"))


def _submit_args(cluster: StandaloneCluster, py_files: Path, config: Path, corpus: Path, output: Path) -> list[str]:
    small = {
        "spark.executor.cores": "1",
        "spark.executor.memory": "512m",
        "spark.cores.max": str(cluster.workers * cluster.worker_cores),
        "spark.driver.memory": "1g",
        # Start only once both executors are up, so that both workers take part from the start.
        "spark.scheduler.minRegisteredResourcesRatio": "1.0",
        "spark.scheduler.maxRegisteredResourcesWaitingTime": "120s",
        "spark.pyspark.python": sys.executable,
        "spark.driver.extraJavaOptions": FAST_JVM,
        "spark.executor.extraJavaOptions": FAST_JVM,
    }
    args = ["--master", cluster.url, "--properties-file", str(PROJECT_ROOT / "conf/cluster/spark-defaults.conf")]
    for key, value in small.items():
        args += ["--conf", f"{key}={value}"]
    args += ["--py-files", str(py_files), str(PROJECT_ROOT / "jobs" / "thresher_job.py")]
    args += ["run", str(config), "--input", str(corpus), "--output", str(output), "--run-id", "cluster-test"]
    return args


def _kept_ids(output: Path) -> list[str]:
    table = ds.dataset(DeltaTable(str(output / "kept")).file_uris()).to_table(columns=["doc_id"])
    return sorted(table.column("doc_id").to_pylist())


def _stage_counts(output: Path) -> dict[str, tuple]:
    columns = ["stage", "docs_in", "docs_out", "docs_excluded", "docs_flagged", "reason_counts"]
    rows = ds.dataset(DeltaTable(str(output / "stats")).file_uris()).to_table(columns=columns).to_pylist()
    return {
        r["stage"]: (r["docs_in"], r["docs_out"], r["docs_excluded"], r["docs_flagged"], sorted(r["reason_counts"]))
        for r in rows
    }


def _segment_of(stage: str, config: Path) -> str:
    return make_plan(load_config(config), "").segment_of(stage).name


def test_cluster_run_equals_local_run(cluster, config, corpus, local_run, py_files, tmp_path):
    output = tmp_path / "run"
    job = Submission.start(
        cluster.env(), _submit_args(cluster, py_files, config, corpus, output), tmp_path / "driver.log", PROJECT_ROOT
    )
    assert job.wait(JOB_TIMEOUT) == 0, job.output()[-5000:] + cluster.logs()
    assert json.loads((output / "manifest.json").read_text())["spark_master"] == cluster.url
    kept = _kept_ids(output)
    assert len(kept) > 100
    assert kept == _kept_ids(local_run)
    assert _stage_counts(output) == _stage_counts(local_run)


def test_losing_a_worker_during_dedup_still_gives_the_same_output(
    cluster, config, corpus, local_run, py_files, tmp_path
):
    output = tmp_path / "run"
    job = Submission.start(
        cluster.env(), _submit_args(cluster, py_files, config, corpus, output), tmp_path / "driver.log", PROJECT_ROOT
    )
    try:
        job.wait_for_output(f"{_segment_of(KILLED_STAGE, config)}: started", JOB_TIMEOUT)
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:
            victim = cluster.worker_running(job.busy_executors())
            time.sleep(0.05)
        assert victim is not None, "no executor ran a task of the stage\n" + job.output()[-5000:]
        killed = cluster.kill(victim)
    except BaseException:
        job.stop()
        raise
    assert any("CoarseGrainedExecutorBackend" in command for _, command in killed), killed
    assert job.wait(JOB_TIMEOUT) == 0, job.output()[-5000:] + cluster.logs()
    assert "Lost executor" in job.output()
    assert cluster.alive_workers() == cluster.workers - 1
    assert _kept_ids(output) == _kept_ids(local_run)
    assert _stage_counts(output) == _stage_counts(local_run)
