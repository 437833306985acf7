"""What the notebooks in notebooks/ call (they hold no logic of their own): parameters that are widgets on
Databricks and papermill parameters elsewhere, a pipeline run with the options of `thresher run`, and a run's
tables as small pandas frames to look at.

Everything document-scale stays in Spark: only aggregates and a bounded number of example rows reach the driver.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from thresher.catalog import TablePrefix, register_tables
from thresher.conf import load_config, parse_spark_conf
from thresher.core.records import Manifest
from thresher.plan import check_until
from thresher.report.run_data import RunTables, load_run, snippet
from thresher.report.run_report import render_run_report
from thresher.runner import RunResult, run_pipeline
from thresher.schema import DOC_ID, REASON, STAGE, TEXT
from thresher.spark import get_spark


def on_databricks() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def parameters(defaults: Mapping[str, Any]) -> dict[str, str]:
    """The notebook's parameters as strings.

    On Databricks each one is a text widget, created with the value given here as its default, so that a job's
    parameters or a user's edits in the widget bar win. Elsewhere the values are returned as given: papermill
    has already replaced them with the values it was asked to inject.
    """
    if not on_databricks():
        return {name: "" if value is None else str(value) for name, value in defaults.items()}
    widgets = _dbutils().widgets
    for name, value in defaults.items():
        widgets.text(name, "" if value is None else str(value))
    return {name: widgets.get(name) for name in defaults}


def _dbutils() -> Any:
    """Databricks' dbutils: a global of the notebook, also reachable through the Databricks runtime's pyspark."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None and "dbutils" in shell.user_ns:
        return shell.user_ns["dbutils"]
    from pyspark.dbutils import DBUtils  # type: ignore[import-not-found]  # only on Databricks runtimes

    return DBUtils(SparkSession.getActiveSession())


def split_settings(text: str) -> list[str]:
    """`key=value` settings from one widget or parameter: separated by semicolons or new lines."""
    return [item.strip() for line in text.splitlines() for item in line.split(";") if item.strip()]


def run(
    config: str,
    input_path: str = "",
    output: str = "",
    mode: str = "",
    until: str = "",
    settings: str = "",
    spark_conf: str = "",
    register_as: str = "",
) -> RunResult:
    """`thresher run` from a notebook: empty strings mean "as in the config"; `settings` are `--set key=value`
    items and `spark_conf` Spark settings, each separated by semicolons or new lines; `register_as`
    (catalog.schema.name) registers the run's tables in the catalog once it has finished (thresher.catalog). On
    Databricks the notebook's session is used; elsewhere a local one is built."""
    pipeline = load_config(
        config,
        sets=split_settings(settings),
        input_path=input_path or None,
        output=output or None,
        mode=mode or None,
        spark_conf=split_settings(spark_conf),
    )
    if until:
        check_until(until, pipeline.stage_ids)
    if register_as:
        TablePrefix.parse(register_as)  # a bad name fails before the run, not after it
    spark = get_spark(pipeline.spark)
    result = run_pipeline(pipeline, spark, until=until or None)
    if register_as and not until:
        for table in register_tables(spark, result.output, register_as):
            print(f"registered {table}")
    return result


class RunExplorer:
    """A finished (or partial) run's tables: stats, reasons, excluded and quarantined examples, the report."""

    def __init__(self, output: str, spark: SparkSession | None = None, spark_conf: str = "") -> None:
        self.spark = spark or get_spark(parse_spark_conf(split_settings(spark_conf)))
        self.tables = RunTables(self.spark, output)
        self.root = output

    @property
    def manifest(self) -> Manifest:
        return self.tables.manifest

    @property
    def mode(self) -> str:
        return self.manifest.mode

    def summary(self) -> pd.DataFrame:
        """One row: run id, status, mode, where the run stopped, and its record totals."""
        manifest = self.manifest
        row = {
            "run_id": manifest.run_id,
            "status": manifest.status,
            "mode": self.mode,
            "stopped_after": manifest.stopped_after,
            **manifest.totals,
        }
        return pd.DataFrame([row])

    def stats(self) -> pd.DataFrame:
        """Per stage, in order: documents in/out/excluded/flagged, share of characters kept, time, throughput."""
        rows = []
        for stage in self.tables.stats():
            rows.append(
                {
                    "stage": stage.stage,
                    "docs_in": stage.docs_in,
                    "docs_out": stage.docs_out,
                    "docs_excluded": stage.docs_excluded,
                    "docs_flagged": stage.docs_flagged,
                    "chars_kept": stage.chars_out / stage.chars_in if stage.chars_in else 1.0,
                    "wall_seconds": stage.wall_seconds,
                    "docs_per_second": stage.docs_per_second,
                }
            )
        return pd.DataFrame(rows)

    def reasons(self) -> pd.DataFrame:
        """Documents per (stage, reason), from the stats table, most frequent first within each stage."""
        rows = [
            {"stage": stage.stage, "reason": reason, "docs": count}
            for stage in self.tables.stats()
            for reason, count in sorted(stage.reason_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        return pd.DataFrame(rows, columns=["stage", "reason", "docs"])

    def excluded(self, stage: str = "", reason: str = "", limit: int = 10) -> pd.DataFrame:
        """Example documents a stage removed (filter mode) or flagged (annotate mode), optionally of one stage and
        reason: a spread picked by a hash of doc_id, the same on every run of the notebook."""
        stage_ids = [s.stage for s in self.tables.stats() if s.stage != "ingest"]
        decisions = self.tables.decisions(stage_ids, self.mode)
        columns = [DOC_ID, STAGE, REASON, "snippet", "chars"]
        if decisions is None:
            return pd.DataFrame(columns=columns)
        if stage:
            decisions = decisions.where(F.col(STAGE) == stage)
        if reason:
            decisions = decisions.where(F.col(REASON) == reason)
        picked = decisions.orderBy(F.xxhash64(DOC_ID), DOC_ID).limit(limit)
        return picked.select(DOC_ID, STAGE, REASON, snippet(F.col(TEXT)), F.length(TEXT).alias("chars")).toPandas()

    def quarantine(self) -> pd.DataFrame:
        """Quarantined input records per reason."""
        table = self.tables.table("quarantine")
        if table is None:
            return pd.DataFrame(columns=["reason", "records"])
        counts = table.groupBy("reason").agg(F.count(F.lit(1)).alias("records"))
        return counts.orderBy(F.desc("records"), "reason").toPandas()

    def quarantine_examples(self, reason: str = "", limit: int = 10) -> pd.DataFrame:
        """Quarantined records with where they were read and why: file, line, error and the raw text's start."""
        table = self.tables.table("quarantine")
        if table is None:
            return pd.DataFrame(columns=["reason", "file", "line", "error", "raw"])
        if reason:
            table = table.where(F.col("reason") == reason)
        picked = table.orderBy("file", "offset").limit(limit)
        return picked.select("reason", "file", "line", "error", F.substring("raw", 1, 200).alias("raw")).toPandas()

    def report_html(self) -> str:
        """The run's HTML report (as `thresher report` writes it), to show inline."""
        return render_run_report(load_run(self.spark, self.root))


def show_html(html: str) -> None:
    """Show an HTML page in the notebook: displayHTML on Databricks, IPython's display elsewhere."""
    from IPython import get_ipython
    from IPython.display import HTML, display

    shell = get_ipython()
    if shell is not None and "displayHTML" in shell.user_ns:
        shell.user_ns["displayHTML"](html)
    else:
        display(HTML(html))
