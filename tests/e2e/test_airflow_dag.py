"""The Airflow DAG in a real Airflow 3 (its own venv, `make airflow-venv`): it parses with DagBag under each way of
configuring it, and `airflow dags test` runs the pipeline against SQLite, first with SparkSubmitOperator tasks,
then again into the same output with the plain CLI fallback, where every task must reuse committed work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from deltalake import DeltaTable

from tests.conftest import PROJECT_ROOT
from tests.e2e.standalone import FAST_JVM
from thresher.demo import generate_demo_corpus

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AIRFLOW_BIN = PROJECT_ROOT / ".venv-airflow" / "bin"
DAG_FOLDER = PROJECT_ROOT / "jobs" / "airflow"
DAG_ID = "thresher_pipeline"
GROUPS = "clean=normalize,filter=length"

# Runs inside the Airflow venv: parses the DAG folder under several settings and reports what it found.
PARSE_SCRIPT = """
import json, os, sys
from airflow.dag_processing.dagbag import DagBag

report = {}
for name, settings in json.loads(sys.argv[1]).items():
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    bag = DagBag(dag_folder=sys.argv[2])
    report[name] = {
        "errors": [str(e) for e in bag.import_errors.values()],
        "dags": {
            dag.dag_id: [
                [t.task_id, type(t).__name__, sorted(t.downstream_task_ids),
                 getattr(t, "application_args", None) or getattr(t, "bash_command", None)]
                for t in dag.tasks
            ]
            for dag in bag.dags.values()
        },
    }
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key)
        else:
            os.environ[key] = value
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict[str, str]:
    if not (AIRFLOW_BIN / "airflow").exists():
        pytest.skip("the Airflow test environment .venv-airflow is missing: `make airflow-venv` (make test) builds it")
    home = tmp_path_factory.mktemp("airflow")
    config = home / "pipeline.yaml"
    small_spark = {
        "spark.driver.memory": "1g",
        "spark.driver.extraJavaOptions": FAST_JVM,
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "4",
    }
    corpus = home / "corpus.jsonl"
    generate_demo_corpus(str(corpus), 300, 7)
    config.write_text(
        "run: {mode: filter, fuse_row_stages: false}\n"
        f"input: {{path: {corpus}, format: jsonl}}\n"
        f"spark: {json.dumps(small_spark)}\n"
        "stages:\n  normalize: {}\n  length: {min_words: 50}\n"
    )
    # spark-submit reads the JVM settings from a properties file: they cannot change once the driver runs.
    properties = home / "spark-defaults.conf"
    properties.write_text("".join(f"{key} {value}\n" for key, value in small_spark.items()))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "THRESHER_", "PYSPARK"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": "local[2]"}),
            "SPARK_LOCAL_IP": "127.0.0.1",
            # spark-submit (of pyspark) must be on the PATH of Airflow workers.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "THRESHER_CONFIG": str(config),
            "THRESHER_PROPERTIES_FILE": str(properties),
            "THRESHER_OUTPUT_ROOT": str(home / "runs"),
            "THRESHER_PYTHON": sys.executable,
            "THRESHER_RETRIES": "0",
        }
    )
    return env


def _airflow(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(AIRFLOW_BIN / "airflow"), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_dag_parses_for_each_way_of_configuring_it(airflow_env):
    cases = {
        "spark-submit": {"THRESHER_STAGE_GROUPS": GROUPS},
        "cli": {"THRESHER_STAGE_GROUPS": GROUPS, "THRESHER_OPERATOR": "cli"},
        "bad-group": {"THRESHER_STAGE_GROUPS": "clean=normalize,dedup=minhash"},
        "one-per-stage": {"THRESHER_OPERATOR": "cli"},
        "no-config": {"THRESHER_CONFIG": ""},
    }
    result = subprocess.run(
        [str(AIRFLOW_BIN / "python"), "-c", PARSE_SCRIPT, json.dumps(cases), str(DAG_FOLDER)],
        env=airflow_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    tasks = report["spark-submit"]["dags"][DAG_ID]
    assert report["spark-submit"]["errors"] == []
    assert [(t[0], t[1], t[2]) for t in tasks] == [
        ("clean", "ThresherSparkSubmitOperator", ["filter"]),
        ("filter", "ThresherSparkSubmitOperator", []),
    ]
    assert tasks[0][3][-2:] == ["--until", "normalize"]
    assert "--until" not in tasks[1][3]

    bash = report["cli"]["dags"][DAG_ID]
    assert [t[1] for t in bash] == ["BashOperator", "BashOperator"]
    assert bash[0][3].endswith("--until normalize") and "--until" not in bash[1][3]

    per_stage = report["one-per-stage"]["dags"][DAG_ID]
    assert [(t[0], t[2]) for t in per_stage] == [("normalize", ["length"]), ("length", [])]

    assert report["bad-group"]["dags"] == {}
    assert "group 'dedup' ends at 'minhash', which is not a stage of" in report["bad-group"]["errors"][0]
    assert "THRESHER_CONFIG is not set" in report["no-config"]["errors"][0]


def _kept(output: Path) -> int:
    return ds.dataset(DeltaTable(str(output / "kept")).file_uris()).count_rows()


def test_dags_test_runs_the_pipeline_and_a_second_run_reuses_every_checkpoint(airflow_env, tmp_path):
    corpus = Path(airflow_env["AIRFLOW_HOME"]) / "corpus.jsonl"
    records = sum(1 for _ in corpus.open("rb"))
    output = tmp_path / "run"
    env = {**airflow_env, "THRESHER_STAGE_GROUPS": GROUPS}
    migrated = _airflow(env, "db", "migrate", timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-3000:]

    # No `input` parameter: the tasks read the config's input.
    first = _airflow(env, "dags", "test", DAG_ID, "-c", json.dumps({"output": str(output)}))
    log = first.stdout + first.stderr
    assert first.returncode == 0 and "state=success" in log, log[-6000:]
    assert "SparkSubmitHook" in log  # the tasks went through spark-submit
    assert "01_normalize: stopping here as requested" in log
    manifest = json.loads((output / "manifest.json").read_text())
    assert manifest["status"] == "succeeded" and "stopped_after" not in manifest
    totals = manifest["totals"]
    assert totals["input_records"] == records
    assert totals["kept"] + totals["excluded"] + totals["quarantine"] == records
    assert _kept(output) == totals["kept"] > 0

    # The same DAG through the plain fallback, into the same output: like retried tasks, nothing is recomputed.
    cli = {**env, "THRESHER_OPERATOR": "cli", "THRESHER_BIN": str(Path(sys.executable).parent / "thresher")}
    # The same input given as a parameter is the same input: the checkpoints' fingerprints match.
    second = _airflow(cli, "dags", "test", DAG_ID, "-c", json.dumps({"input": str(corpus), "output": str(output)}))
    log = second.stdout + second.stderr
    assert second.returncode == 0 and "state=success" in log, log[-6000:]
    assert "SparkSubmitHook" not in log
    assert log.count("reused committed checkpoints: 00_ingest, 01_normalize") == 2
    assert "reused committed checkpoints: 00_ingest, 01_normalize, 02_length" in log
    assert ": started with" not in log and "reading 1 input file" not in log
    assert json.loads((output / "manifest.json").read_text())["totals"] == totals
