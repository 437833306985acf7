"""A thresher pipeline as an Airflow DAG: a chain of tasks, one per stage group, all writing one output directory.

Task i runs `thresher run CONFIG --until <last stage of group i>`: a prefix of the FULL pipeline (same plan, same
checkpoint fingerprints), so it reuses every checkpoint the tasks before it committed and commits its own; the
last task runs the whole pipeline without --until, which only computes what is left and writes the final tables
(kept/, excluded/, quarantine/). A retried or cleared task therefore never redoes a committed stage, and a task
killed half-way resumes from its last committed checkpoint.

Tasks are SparkSubmitOperator tasks (jobs/thresher_job.py) when the Apache Spark provider is installed, else
BashOperator tasks running the `thresher` command line (Spark in local mode, or the master given by the config's
`spark:` section / THRESHER_SPARK_MASTER).

Settings, from the environment of the scheduler and the workers (see the README's "Airflow" section):

    THRESHER_CONFIG          pipeline YAML, readable by the workers (required)
    THRESHER_OUTPUT_ROOT     each DAG run writes to <root>/<run id> unless the `output` parameter is given
    THRESHER_STAGE_GROUPS    task=last_stage pairs, e.g. "clean=length,dedup=minhash_dedup"; the last task also runs
                             the stages after its group. Default: one task per stage. Consecutive row stages run as
                             one fused pass, so end groups at the last of such a run or at a global stage (`thresher
                             stages` says which is which): a boundary inside a fused pass only adds a task that
                             finds the pass committed
    THRESHER_DAG_ID          default: thresher_<config file name>
    THRESHER_OPERATOR        auto (default) | spark-submit | cli
    THRESHER_SPARK_CONN_ID   Spark connection for spark-submit (default spark_default)
    THRESHER_JOB             jobs/thresher_job.py as the workers see it (default: beside this file's folder)
    THRESHER_PY_FILES        zip or wheel for --py-files (from `make dist`), optional
    THRESHER_ARCHIVES        packed environment for --archives, e.g. "dist/thresher-env.tar.gz#env", optional
    THRESHER_PROPERTIES_FILE spark-defaults file for --properties-file, optional
    THRESHER_PYTHON          Python with thresher for the executors (and the driver), spark.pyspark.python, optional
    THRESHER_DRIVER_PYTHON   the driver's, when it differs (client mode with --archives), optional
    THRESHER_BIN             the thresher command for the cli operator (default: thresher)
    THRESHER_RETRIES         retries per task (default 2)

Trigger parameters: `input` (path or glob; default: the config's input) and `output` (default: see above).
"""

from __future__ import annotations

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

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ = os.environ) -> Settings:
        config = env.get("THRESHER_CONFIG")
        if not config:
            raise ValueError("THRESHER_CONFIG is not set: point it at the pipeline YAML (see the README, Airflow)")
        operator = env.get("THRESHER_OPERATOR", "auto")
        if operator == "auto":
            operator = "spark-submit" if SparkSubmitOperator is not None else "cli"
        if operator not in ("spark-submit", "cli"):
            raise ValueError(f"THRESHER_OPERATOR={operator!r}: expected auto, spark-submit or cli")
        if operator == "spark-submit" and SparkSubmitOperator is None:
            raise ValueError("THRESHER_OPERATOR=spark-submit needs apache-airflow-providers-apache-spark")
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
    """Application arguments of one spark-submit task (each item templated; an empty --input is dropped)."""
    arguments = ["run", config, "--input", "{{ params.input }}", "--output", "{{ " + OUTPUT + " }}"]
    return [*arguments, "--until", until] if until else arguments


def without_empty_options(arguments: Sequence[str]) -> list[str]:
    """Drop `--option ""` pairs left by optional parameters that were not given."""
    kept: list[str] = []
    for item in arguments:
        if item == "" and kept and kept[-1].startswith("--"):
            kept.pop()
        else:
            kept.append(item)
    return kept


def cli_command(config: str, until: str | None) -> str:
    """The shell command of one task of the plain fallback (templated, every value quoted)."""
    parts = [
        "{{ thresher_bin | shell_quote }} run",
        shlex.quote(config),
        "{% if params.input %}--input {{ params.input | shell_quote }}{% endif %}",
        "--output {{ (" + OUTPUT + ") | shell_quote }}",
    ]
    return " ".join([*parts, "--until", shlex.quote(until)] if until else parts)


if SparkSubmitOperator is not None:

    class ThresherSparkSubmitOperator(SparkSubmitOperator):
        """spark-submit of jobs/thresher_job.py; optional arguments left empty are dropped once rendered."""

        def execute(self, context: Any) -> None:
            self.application_args = without_empty_options(self.application_args or [])
            super().execute(context)


def _task(settings: Settings, task_id: str, until: str | None) -> BaseOperator:
    if settings.operator == "cli":
        return BashOperator(task_id=task_id, bash_command=cli_command(settings.config, until))
    return ThresherSparkSubmitOperator(
        task_id=task_id,
        application=settings.job,
        application_args=spark_submit_arguments(settings.config, until),
        conn_id=settings.conn_id,
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
            "input": Param("", type="string", description="input path or glob; empty: the config's input"),
            "output": Param("", type="string", description="output directory; empty: <output root>/<run id>"),
        },
        user_defined_macros={"thresher_output_root": settings.output_root, "thresher_bin": settings.thresher_bin},
        user_defined_filters={
            "path_safe": lambda text: re.sub(r"[^A-Za-z0-9._-]", "_", text),
            "shell_quote": shlex.quote,
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
