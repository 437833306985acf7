"""A thresher pipeline as an Airflow DAG: a chain of tasks, one per stage group, all writing one output directory.

Task i runs `thresher run CONFIG --until <last stage of group i>`: a prefix of the FULL pipeline (same plan, same
checkpoint fingerprints), so it reuses every checkpoint the tasks before it committed and commits its own; the
last task runs the whole pipeline without --until, which only computes what is left and writes the final tables
(kept/, excluded/, quarantine/). A retried or cleared task therefore never redoes a committed stage, and a task
killed half-way resumes from its last committed checkpoint.

Tasks are, by THRESHER_OPERATOR:
    spark-submit      SparkSubmitOperator, spark-submit of jobs/thresher_job.py (apache-spark provider; the default
                      when it is installed)
    cli               BashOperator running the `thresher` command line (Spark in local mode, or the master given by
                      the config's `spark:` section / THRESHER_SPARK_MASTER; the default otherwise)
    databricks        DatabricksSubmitRunOperator running notebooks/run_pipeline.ipynb (databricks provider)
    spark-kubernetes  SparkKubernetesOperator submitting docker/k8s/sparkapplication.yaml with this task's
                      arguments (cncf.kubernetes provider, Spark operator in the cluster)

Settings, from the environment of the scheduler and the workers (see the README's "Airflow" section):

    THRESHER_CONFIG          pipeline YAML, readable by the workers (required)
    THRESHER_OUTPUT_ROOT     each DAG run writes to <root>/<run id> unless the `output` parameter is given
    THRESHER_STAGE_GROUPS    task=last_stage pairs, e.g. "clean=length,dedup=minhash_dedup"; the last task also runs
                             the stages after its group. Default: one task per stage. Consecutive row stages run as
                             one fused pass, so end groups at the last of such a run or at a global stage (`thresher
                             stages` says which is which): a boundary inside a fused pass only adds a task that
                             finds the pass committed
    THRESHER_DAG_ID          default: thresher_<config file name>
    THRESHER_OPERATOR        auto (default) | spark-submit | cli | databricks | spark-kubernetes
    THRESHER_SPARK_CONN_ID   Spark connection for spark-submit (default spark_default)
    THRESHER_DEPLOY_MODE     client | cluster (spark-submit's --deploy-mode; default: the connection's). In cluster
                             mode the config is shipped with --files and named by its file name
    THRESHER_FILES           more files for --files, comma-separated (block lists, models), optional
    THRESHER_JOB             jobs/thresher_job.py as the workers see it (default: beside this file's folder)
    THRESHER_PY_FILES        zip or wheel for --py-files (from `make dist`), optional
    THRESHER_ARCHIVES        packed environment for --archives, e.g. "dist/thresher-env.tar.gz#env", optional
    THRESHER_PROPERTIES_FILE spark-defaults file for --properties-file, optional
    THRESHER_PYTHON          Python with thresher for the executors (and the driver), spark.pyspark.python, optional
    THRESHER_DRIVER_PYTHON   the driver's, when it differs (client mode with --archives), optional
    THRESHER_BIN             the thresher command for the cli operator (default: thresher)
    THRESHER_RETRIES         retries per task (default 2)
    THRESHER_DATABRICKS_CONN_ID     Databricks connection (default databricks_default)
    THRESHER_DATABRICKS_NOTEBOOK    workspace path of notebooks/run_pipeline.ipynb (required for databricks)
    THRESHER_DATABRICKS_CLUSTER_ID  an existing cluster with thresher installed, or
    THRESHER_DATABRICKS_NEW_CLUSTER a new_cluster JSON (with notebooks/databricks-init.sh as its init script)
    THRESHER_K8S_APPLICATION  SparkApplication template (default: docker/k8s/sparkapplication.yaml of the repository)
    THRESHER_K8S_NAMESPACE    namespace of the Spark applications (default: default)
    THRESHER_K8S_CONN_ID      Kubernetes connection (default kubernetes_default)

Trigger parameters: `config` (a pipeline YAML with the same stages; default: THRESHER_CONFIG), `input` (path or
glob; default: the config's input), `output` (default: see above), `mode` (filter or annotate; default: the
config's) and `settings` (a list of `--set` overrides, `key=value`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, BaseOperator, Param, chain

try:
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
except ImportError:  # the plain fallback below runs the thresher CLI instead
    SparkSubmitOperator = None
try:
    from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator
except ImportError:
    DatabricksSubmitRunOperator = None
try:
    from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import SparkKubernetesOperator
except ImportError:
    SparkKubernetesOperator = None

OPERATORS = {
    "spark-submit": (SparkSubmitOperator, "apache-airflow-providers-apache-spark"),
    "cli": (BashOperator, "apache-airflow-providers-standard"),
    "databricks": (DatabricksSubmitRunOperator, "apache-airflow-providers-databricks"),
    "spark-kubernetes": (SparkKubernetesOperator, "apache-airflow-providers-cncf-kubernetes"),
}

# The output directory of a DAG run: the `output` parameter, else <THRESHER_OUTPUT_ROOT>/<Airflow run id>.
OUTPUT = "params.output or (thresher_output_root ~ '/' ~ (run_id | path_safe))"


@dataclass(frozen=True)
class Settings:
    config: str
    groups: tuple[tuple[str, str], ...]
    output_root: str
    dag_id: str
    operator: str
    conn_id: str
    job: str
    py_files: str | None
    archives: str | None
    properties_file: str | None
    python: str | None
    driver_python: str | None
    thresher_bin: str
    retries: int
    deploy_mode: str | None = None
    files: tuple[str, ...] = ()
    databricks_conn_id: str = "databricks_default"
    databricks_notebook: str | None = None
    databricks_cluster_id: str | None = None
    databricks_new_cluster: dict[str, Any] | None = None
    k8s_application: str = ""
    k8s_namespace: str = "default"
    k8s_conn_id: str = "kubernetes_default"

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ = os.environ) -> Settings:
        config = env.get("THRESHER_CONFIG")
        if not config:
            raise ValueError("THRESHER_CONFIG is not set: point it at the pipeline YAML (see the README, Airflow)")
        operator = env.get("THRESHER_OPERATOR", "auto")
        if operator == "auto":
            operator = "spark-submit" if SparkSubmitOperator is not None else "cli"
        if operator not in OPERATORS:
            raise ValueError(f"THRESHER_OPERATOR={operator!r}: expected auto, {', '.join(OPERATORS)}")
        if OPERATORS[operator][0] is None:
            raise ValueError(f"THRESHER_OPERATOR={operator} needs {OPERATORS[operator][1]}")
        deploy_mode = env.get("THRESHER_DEPLOY_MODE") or None
        if deploy_mode not in (None, "client", "cluster"):
            raise ValueError(f"THRESHER_DEPLOY_MODE={deploy_mode!r}: expected client or cluster")
        notebook = env.get("THRESHER_DATABRICKS_NOTEBOOK") or None
        cluster_id = env.get("THRESHER_DATABRICKS_CLUSTER_ID") or None
        new_cluster = env.get("THRESHER_DATABRICKS_NEW_CLUSTER") or None
        if operator == "databricks" and (not notebook or bool(cluster_id) == bool(new_cluster)):
            raise ValueError(
                "THRESHER_OPERATOR=databricks needs THRESHER_DATABRICKS_NOTEBOOK and one of "
                "THRESHER_DATABRICKS_CLUSTER_ID, THRESHER_DATABRICKS_NEW_CLUSTER"
            )
        repository = Path(__file__).resolve().parents[2]
        stem = re.sub(r"[^A-Za-z0-9_]", "_", Path(config).stem)
        return cls(
            config=config,
            groups=stage_groups(config, env.get("THRESHER_STAGE_GROUPS")),
            output_root=env.get("THRESHER_OUTPUT_ROOT", "runs").rstrip("/"),
            dag_id=env.get("THRESHER_DAG_ID", f"thresher_{stem}"),
            operator=operator,
            conn_id=env.get("THRESHER_SPARK_CONN_ID", "spark_default"),
            job=env.get("THRESHER_JOB", str(Path(__file__).resolve().parents[1] / "thresher_job.py")),
            py_files=env.get("THRESHER_PY_FILES") or None,
            archives=env.get("THRESHER_ARCHIVES") or None,
            properties_file=env.get("THRESHER_PROPERTIES_FILE") or None,
            python=env.get("THRESHER_PYTHON") or None,
            driver_python=env.get("THRESHER_DRIVER_PYTHON") or None,
            thresher_bin=env.get("THRESHER_BIN", "thresher"),
            retries=int(env.get("THRESHER_RETRIES", "2")),
            deploy_mode=deploy_mode,
            files=tuple(f.strip() for f in env.get("THRESHER_FILES", "").split(",") if f.strip()),
            databricks_conn_id=env.get("THRESHER_DATABRICKS_CONN_ID", "databricks_default"),
            databricks_notebook=notebook,
            databricks_cluster_id=cluster_id,
            databricks_new_cluster=json.loads(new_cluster) if new_cluster else None,
            k8s_application=env.get(
                "THRESHER_K8S_APPLICATION", str(repository / "docker" / "k8s" / "sparkapplication.yaml")
            ),
            k8s_namespace=env.get("THRESHER_K8S_NAMESPACE", "default"),
            k8s_conn_id=env.get("THRESHER_K8S_CONN_ID", "kubernetes_default"),
        )

    def spark_conf(self) -> dict[str, str]:
        """The Python interpreters of the job, as spark-submit settings."""
        conf = {}
        if self.python:
            conf["spark.pyspark.python"] = self.python
        if self.driver_python:
            conf["spark.pyspark.driver.python"] = self.driver_python
        return conf


def stage_groups(config: str, spec: str | None) -> tuple[tuple[str, str], ...]:
    """(task id, last stage of the group) pairs, checked against the config's stages; one per stage by default."""
    with open(config, encoding="utf-8") as handle:
        stages = [str(stage) for stage in (yaml.safe_load(handle) or {}).get("stages") or {}]
    if not stages:
        raise ValueError(f"{config} has no stages")
    if not spec:
        return tuple((stage, stage) for stage in stages)
    groups = []
    for item in spec.split(","):
        task_id, sep, stage = (part.strip() for part in item.partition("="))
        if not sep or not task_id or not stage:
            raise ValueError(f"THRESHER_STAGE_GROUPS: {item!r} is not task=last_stage")
        if stage not in stages:
            raise ValueError(
                f"THRESHER_STAGE_GROUPS: group {task_id!r} ends at {stage!r}, which is not a stage of {config} "
                f"({', '.join(stages)})"
            )
        groups.append((task_id, stage))
    positions = [stages.index(stage) for _, stage in groups]
    if positions != sorted(set(positions)):
        raise ValueError("THRESHER_STAGE_GROUPS: groups must end at different stages, in the config's order")
    return tuple(groups)


def spark_submit_arguments(config: str, until: str | None) -> list[str]:
    """Application arguments of one spark-submit task (each item templated; an empty option is dropped, and the
    `settings` parameter adds one `--set` each when the task runs). `config` is a template of the config path."""
    arguments = [
        "run",
        config,
        "--input",
        "{{ params.input }}",
        "--output",
        "{{ " + OUTPUT + " }}",
        "--mode",
        "{{ params.mode }}",
    ]
    return [*arguments, "--until", until] if until else arguments


def set_options(settings: Any) -> list[str]:
    """`--set key=value` for each of the `settings` parameter's items (a list, or one string split at ';')."""
    items = settings.split(";") if isinstance(settings, str) else list(settings or [])
    options = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        if "=" not in item:
            raise ValueError(f"settings: {item!r} is not key=value")
        options += ["--set", item]
    return options


def without_empty_options(arguments: Sequence[str]) -> list[str]:
    """Drop `--option ""` pairs left by optional parameters that were not given."""
    kept: list[str] = []
    for item in arguments:
        if item == "" and kept and kept[-1].startswith("--"):
            kept.pop()
        else:
            kept.append(item)
    return kept


def cli_command(until: str | None) -> str:
    """The shell command of one task of the plain fallback (templated, every value quoted)."""
    parts = [
        "{{ thresher_bin | shell_quote }} run",
        "{{ params.config | shell_quote }}",
        "{% if params.input %}--input {{ params.input | shell_quote }}{% endif %}",
        "--output {{ (" + OUTPUT + ") | shell_quote }}",
        "{% if params.mode %}--mode {{ params.mode | shell_quote }}{% endif %}",
        "{% for item in params.settings | set_options %}{{ item | shell_quote }} {% endfor %}",
    ]
    return " ".join([*parts, "--until", shlex.quote(until)] if until else parts)


def databricks_parameters(until: str | None) -> dict[str, str]:
    """Widgets of notebooks/run_pipeline.ipynb for one task (templated)."""
    return {
        "config": "{{ params.config }}",
        "input_path": "{{ params.input }}",
        "output": "{{ " + OUTPUT + " }}",
        "mode": "{{ params.mode }}",
        "settings": "{{ params.settings | set_options | select('ne', '--set') | join(';') }}",
        "until": until or "",
    }


def spark_application(template: str, task_id: str, run_id: str, arguments: list[str]) -> dict[str, Any]:
    """The SparkApplication of one task run: the template's (a file, or its YAML text as Airflow renders it), with a
    name of its own and `thresher run`'s arguments (paths as the image sees them)."""
    if os.path.isfile(template):
        with open(template, encoding="utf-8") as handle:
            template = handle.read()
    application = yaml.safe_load(template)
    suffix = re.sub(r"[^a-z0-9]+", "-", run_id.lower()).strip("-")
    application["metadata"]["name"] = f"thresher-{task_id}-{suffix}"[:63].rstrip("-").replace("_", "-")
    application["spec"]["arguments"] = arguments
    return application


if SparkSubmitOperator is not None:

    class ThresherSparkSubmitOperator(SparkSubmitOperator):
        """spark-submit of jobs/thresher_job.py; optional arguments left empty are dropped once rendered, and the
        `settings` parameter becomes --set options."""

        def execute(self, context: Any) -> None:
            arguments = without_empty_options(self.application_args or [])
            self.application_args = [*arguments, *set_options(context["params"].get("settings"))]
            super().execute(context)


if SparkKubernetesOperator is not None:

    class ThresherSparkKubernetesOperator(SparkKubernetesOperator):
        """Submits the SparkApplication template with this task run's `thresher run` arguments."""

        template_fields = (*SparkKubernetesOperator.template_fields, "thresher_arguments")

        def __init__(self, *, thresher_arguments: list[str], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.thresher_arguments = thresher_arguments

        def execute(self, context: Any) -> Any:
            arguments = without_empty_options(self.thresher_arguments)
            arguments += set_options(context["params"].get("settings"))
            application = spark_application(self.application_file, self.task_id, context["run_id"], arguments)
            self.application_file = yaml.safe_dump(application, sort_keys=False)  # the operator takes YAML text
            return super().execute(context)


def _task(settings: Settings, task_id: str, until: str | None) -> BaseOperator:
    if settings.operator == "cli":
        return BashOperator(task_id=task_id, bash_command=cli_command(until))
    if settings.operator == "databricks":
        task: dict[str, Any] = {
            "task_key": task_id,
            "notebook_task": {
                "notebook_path": settings.databricks_notebook,
                "base_parameters": databricks_parameters(until),
            },
        }
        if settings.databricks_cluster_id:
            task["existing_cluster_id"] = settings.databricks_cluster_id
        else:
            task["new_cluster"] = settings.databricks_new_cluster
        return DatabricksSubmitRunOperator(
            task_id=task_id,
            databricks_conn_id=settings.databricks_conn_id,
            json={"run_name": f"thresher {task_id}", "tasks": [task]},
        )
    if settings.operator == "spark-kubernetes":
        return ThresherSparkKubernetesOperator(
            task_id=task_id,
            application_file=settings.k8s_application,
            namespace=settings.k8s_namespace,
            kubernetes_conn_id=settings.k8s_conn_id,
            thresher_arguments=spark_submit_arguments("{{ params.config }}", until),
        )
    # In cluster mode the driver runs on the cluster: the config travels with --files, named by its file name.
    config = "{{ params.config | basename }}" if settings.deploy_mode == "cluster" else "{{ params.config }}"
    files = ["{{ params.config }}"] if settings.deploy_mode == "cluster" else []
    files += settings.files
    return ThresherSparkSubmitOperator(
        task_id=task_id,
        application=settings.job,
        application_args=spark_submit_arguments(config, until),
        conn_id=settings.conn_id,
        deploy_mode=settings.deploy_mode,
        files=",".join(files) or None,
        py_files=settings.py_files,
        archives=settings.archives,
        properties_file=settings.properties_file,
        conf=settings.spark_conf(),
        name=f"thresher {task_id}",
    )


def build_dag(settings: Settings) -> DAG:
    with DAG(
        dag_id=settings.dag_id,
        description=f"thresher pipeline {settings.config}",
        schedule=None,
        catchup=False,
        tags=["thresher"],
        doc_md=__doc__,
        default_args={"retries": settings.retries, "retry_delay": timedelta(minutes=2)},
        params={
            "config": Param(settings.config, type="string", description="pipeline YAML with the DAG's stages"),
            "input": Param("", type="string", description="input path or glob; empty: the config's input"),
            "output": Param("", type="string", description="output directory; empty: <output root>/<run id>"),
            "mode": Param("", enum=["", "filter", "annotate"], description="empty: the config's run.mode"),
            "settings": Param(
                [],
                type="array",
                items={"type": "string"},
                description="config overrides, key=value each (thresher run --set), e.g. stages.length.min_words=50",
            ),
        },
        user_defined_macros={"thresher_output_root": settings.output_root, "thresher_bin": settings.thresher_bin},
        user_defined_filters={
            "path_safe": lambda text: re.sub(r"[^A-Za-z0-9._-]", "_", text),
            "shell_quote": shlex.quote,
            "set_options": set_options,
            "basename": os.path.basename,
        },
    ) as dag:
        last = len(settings.groups) - 1
        chain(
            *(
                _task(settings, task_id, None if i == last else stage)
                for i, (task_id, stage) in enumerate(settings.groups)
            )
        )
    return dag


dag = build_dag(Settings.from_env())
