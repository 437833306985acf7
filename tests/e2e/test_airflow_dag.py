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
                 getattr(t, "application_args", None) or getattr(t, "bash_command", None)
                 or getattr(t, "thresher_arguments", None) or getattr(t, "json", None),
                 {key: getattr(t, key, None) for key in ("files", "_deploy_mode", "application_file", "namespace")}]
                for t in dag.tasks
            ]
            for dag in bag.dags.values()
        },
    }
    report[name]["params"] = {
        dag.dag_id: sorted(dag.params.keys()) for dag in bag.dags.values()
    }
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key)
        else:
            os.environ[key] = value
print(json.dumps(report, default=str))
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
        "yarn-cluster": {
            "THRESHER_STAGE_GROUPS": GROUPS,
            "THRESHER_DEPLOY_MODE": "cluster",
            "THRESHER_FILES": "/x/a.txt",
        },
        "databricks": {
            "THRESHER_STAGE_GROUPS": GROUPS,
            "THRESHER_OPERATOR": "databricks",
            "THRESHER_DATABRICKS_NOTEBOOK": "/Workspace/thresher/notebooks/run_pipeline",
            "THRESHER_DATABRICKS_CLUSTER_ID": "0101-000000-abc",
        },
        "databricks-no-cluster": {
            "THRESHER_OPERATOR": "databricks",
            "THRESHER_DATABRICKS_NOTEBOOK": "/Workspace/thresher/notebooks/run_pipeline",
        },
        "spark-kubernetes": {"THRESHER_STAGE_GROUPS": GROUPS, "THRESHER_OPERATOR": "spark-kubernetes"},
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

    assert report["spark-submit"]["params"][DAG_ID] == ["config", "input", "mode", "output", "settings"]
    assert tasks[0][3][:2] == ["run", "{{ params.config }}"] and tasks[0][3][6:8] == ["--mode", "{{ params.mode }}"]
    assert "--mode {{ params.mode | shell_quote }}" in bash[0][3] and "params.settings | set_options" in bash[0][3]

    # YARN cluster mode: the config travels with --files and is named by its file name.
    yarn = report["yarn-cluster"]["dags"][DAG_ID]
    assert yarn[0][3][1] == "{{ params.config | basename }}"
    assert yarn[0][4]["files"] == "{{ params.config }},/x/a.txt" and yarn[0][4]["_deploy_mode"] == "cluster"

    databricks = report["databricks"]["dags"][DAG_ID]
    assert [(t[0], t[1], t[2]) for t in databricks] == [
        ("clean", "DatabricksSubmitRunOperator", ["filter"]),
        ("filter", "DatabricksSubmitRunOperator", []),
    ]
    run = databricks[0][3]["tasks"][0]
    assert run["existing_cluster_id"] == "0101-000000-abc"
    assert run["notebook_task"]["notebook_path"] == "/Workspace/thresher/notebooks/run_pipeline"
    widgets = run["notebook_task"]["base_parameters"]
    assert widgets["until"] == "normalize" and widgets["config"] == "{{ params.config }}"
    assert databricks[1][3]["tasks"][0]["notebook_task"]["base_parameters"]["until"] == ""
    assert "needs THRESHER_DATABRICKS_NOTEBOOK and one of" in report["databricks-no-cluster"]["errors"][0]

    kubernetes = report["spark-kubernetes"]["dags"][DAG_ID]
    assert [t[1] for t in kubernetes] == ["ThresherSparkKubernetesOperator"] * 2
    assert kubernetes[0][3][-2:] == ["--until", "normalize"] and "--until" not in kubernetes[1][3]
    assert kubernetes[0][4]["application_file"].endswith("docker/k8s/sparkapplication.yaml")

    assert report["bad-group"]["dags"] == {}
    assert "group 'dedup' ends at 'minhash', which is not a stage of" in report["bad-group"]["errors"][0]
    assert "THRESHER_CONFIG is not set" in report["no-config"]["errors"][0]


# Runs inside the Airflow venv: what the DAG's helpers make of trigger parameters when a task runs.
RENDER_SCRIPT = """
import importlib.util, json, sys
import jinja2
spec = importlib.util.spec_from_file_location("thresher_dag", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["thresher_dag"] = module
spec.loader.exec_module(module)
environment = jinja2.Environment()
environment.filters["set_options"] = module.set_options
settings = ["stages.length.min_words=100", "run.batch_size=500"]
widget = module.databricks_parameters("length")["settings"]
report = {
    "list": module.set_options(settings),
    "text": module.set_options("a=1; b=2;"),
    "widget": environment.from_string(widget).render(params={"settings": settings}),
    "application": module.spark_application(
        sys.argv[2], "clean_up", "manual__2026-12-01T00:00:00+00:00", ["run", "/opt/thresher/conf/web_en.yaml"]
    ),
}
try:
    module.set_options(["novalue"])
except ValueError as error:
    report["error"] = str(error)
print(json.dumps(report))
"""


def test_trigger_parameters_become_set_options_widgets_and_spark_applications(airflow_env):
    template = PROJECT_ROOT / "docker" / "k8s" / "sparkapplication.yaml"
    result = subprocess.run(
        [str(AIRFLOW_BIN / "python"), "-c", RENDER_SCRIPT, str(DAG_FOLDER / "thresher_dag.py"), str(template)],
        env=airflow_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["list"] == ["--set", "stages.length.min_words=100", "--set", "run.batch_size=500"]
    assert report["text"] == ["--set", "a=1", "--set", "b=2"]
    assert report["widget"] == "stages.length.min_words=100;run.batch_size=500"  # the notebook splits at ';'
    assert report["error"] == "settings: 'novalue' is not key=value"
    application = report["application"]
    name = application["metadata"]["name"]
    assert name == "thresher-clean-up-manual-2026-12-01t00-00-00-00-00"
    assert len(name) <= 63 and name.replace("-", "").isalnum() and name == name.lower()
    assert application["spec"]["arguments"] == ["run", "/opt/thresher/conf/web_en.yaml"]
    assert application["spec"]["image"].endswith("/thresher:0.1.0")


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
    # `mode` and `settings` as the config has them: the same plan, so the second run below still reuses it all.
    parameters = {"output": str(output), "mode": "filter", "settings": ["stages.length.min_words=50"]}
    first = _airflow(env, "dags", "test", DAG_ID, "-c", json.dumps(parameters))
    log = first.stdout + first.stderr
    assert first.returncode == 0 and "state=success" in log, log[-6000:]
    assert "SparkSubmitHook" in log  # the tasks went through spark-submit
    assert "--mode filter --set stages.length.min_words=50" in log
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
