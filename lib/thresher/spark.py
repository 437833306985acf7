"""The Spark session: reuse the active one (spark-submit, Databricks, notebooks) or build `local[*]`."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import SparkSession

from thresher.io import objectstore

log = logging.getLogger(__name__)

# Settings thresher relies on, applied to every session (runtime SQL settings, so they also apply to a
# session that already exists).
REQUIRED_SQL_CONF = {
    # delta-rs reads Parquet INT96 timestamps wrongly; Delta wants microseconds.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}

# Settings for a session thresher builds itself (laptop, CI); a cluster's own defaults are left alone.
LOCAL_DEFAULTS = {
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.shuffle.partitions": "16",
    "spark.driver.memory": "4g",
    "spark.python.worker.reuse": "true",
}


_LOG4J_CONFIG = Path(__file__).with_name("resources") / "log4j2.properties"

# JVM options of a session thresher builds itself. The C1 compiler only: on the 10,000-document web_en
# benchmark, the JIT's compiler threads (mostly C2) took 45 of the driver JVM's 89 CPU seconds, and C1-only
# code was not slower where the work is (Spark's task threads: 20.5 -> 18.1 CPU s); 100,000 documents took
# less CPU and wall time too (README, performance). A user's own
# `spark.driver.extraJavaOptions` come after these, so `-XX:TieredStopAtLevel=4` there restores C2.
LOCAL_JAVA_OPTIONS = ("-XX:TieredStopAtLevel=1",)


def get_spark(conf: Mapping[str, str] | None = None, app_name: str = "thresher") -> SparkSession:
    """Return the active session with `conf` applied, or build a local one.

    Under spark-submit or in a notebook the session (and master) already exist: runtime settings from `conf`
    are applied and static ones (memory, master, ...) are reported as ignored, since they can only be set when
    the JVM starts.
    """
    conf = dict(conf or {})
    active = SparkSession.getActiveSession()
    if active is not None:
        _apply_runtime_conf(active, {**REQUIRED_SQL_CONF, **conf})
        objectstore.configure_from_spark(active)
        return active
    builder = SparkSession.builder.appName(app_name)
    # Launched by spark-submit: the master and cluster settings come from its command line, never from here.
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        # Local Python workers must run the driver's interpreter (the venv thresher is installed in), not
        # whatever `python3` is first on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.master(conf.pop("spark.master", None) or os.environ.get("THRESHER_SPARK_MASTER", "local[*]"))
        for key, value in LOCAL_DEFAULTS.items():
            builder = builder.config(key, value)
        java_options = local_java_options(conf.pop("spark.driver.extraJavaOptions", ""))
        builder = builder.config("spark.driver.extraJavaOptions", java_options)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    for key, value in {**REQUIRED_SQL_CONF, **conf}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("THRESHER_SPARK_LOG_LEVEL", "ERROR"))
    objectstore.configure_from_spark(spark)
    return spark


def local_java_options(user_options: str) -> str:
    """The driver JVM's options of a local session: thresher's, then the user's (the JVM takes the last of
    two settings of one flag, so the user's win)."""
    return " ".join([f"-Dlog4j2.configurationFile={_LOG4J_CONFIG}", *LOCAL_JAVA_OPTIONS, user_options]).strip()


def _apply_runtime_conf(spark: SparkSession, conf: Mapping[str, str]) -> None:
    for key, value in conf.items():
        if spark.conf.get(key, None) == value:
            continue
        try:
            spark.conf.set(key, value)
        except Exception:
            log.warning("Spark setting %s=%s ignored: it can only be set when the session is created", key, value)


def has_delta_jvm(spark: SparkSession) -> bool:
    """Whether the Delta Lake JVM classes are on this session's classpath (Databricks, --packages)."""
    if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        return True
    try:
        jvm = spark._jvm  # type: ignore[attr-defined]
    except Exception:
        jvm = None
    if jvm is None:
        return "DeltaSparkSessionExtension" in (spark.conf.get("spark.sql.extensions", "") or "")
    try:
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        loader.loadClass("io.delta.tables.DeltaTable")
        return True
    except Exception:
        return False


_current_description: str | None = None


def set_job_description(spark: SparkSession, description: str | None) -> None:
    """Label the Spark jobs that follow (shown in the Spark UI's job list and by the progress line)."""
    global _current_description
    _current_description = description
    try:
        spark.sparkContext.setJobDescription(description)  # type: ignore[arg-type]
    except Exception:
        log.debug("cannot set the Spark job description")


def current_job_description() -> str | None:
    """The description last set by `set_job_description` (Spark keeps it per thread; the progress line reads it
    from its own)."""
    return _current_description
