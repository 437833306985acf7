"""Spark's half of object stores where its Hadoop file systems are missing (pip's pyspark carries none, and no
Maven is reachable here to add them): one clear line naming the `--packages` coordinates of the installed Spark's
Hadoop, before any input is read or output written; and `s3://` (unknown to Hadoop) is mapped to S3A, which is
then the one named."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT
from tests.e2e.standalone import FAST_JVM
from tests.unit.test_object_stores import s3  # noqa: F401 (the local S3 fixture)
from thresher.conf import load_config
from thresher.errors import ThresherError
from thresher.io import objectstore
from thresher.runner import Runner


def _config(tmp_path, input_path: str, output: str):
    path = tmp_path / "pipeline.yaml"
    path.write_text(f"input: {{path: '{input_path}', format: jsonl}}\nrun: {{output: '{output}'}}\nstages: {{}}\n")
    return load_config(str(path))


@pytest.mark.parametrize(
    ("input_path", "output", "named"),
    [
        ("{corpus}", "s3://bucket/runs/x", "--packages org.apache.hadoop:hadoop-aws:{hadoop}"),
        ("s3a://bucket/cc/*.jsonl.gz", "{local}", "--packages org.apache.hadoop:hadoop-aws:{hadoop}"),
        ("{corpus}", "abfss://c@acct.dfs.core.windows.net/run", "--packages org.apache.hadoop:hadoop-azure:{hadoop}"),
        ("gs://bucket/cc/x.jsonl", "{local}", "gcs-connector:3.0.9"),
    ],
)
def test_a_missing_hadoop_file_system_is_one_line_naming_the_package(spark, tmp_path, input_path, output, named):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"text": "hello"}\n')
    local = tmp_path / "run"
    config = _config(tmp_path, input_path.format(corpus=corpus), output.format(local=local))
    hadoop = objectstore.spark_hadoop_version()
    assert hadoop and hadoop.count(".") == 2
    with pytest.raises(ThresherError) as error:
        Runner(config, spark)
    message = str(error.value)
    assert named.format(hadoop=hadoop) in message and "\n" not in message
    assert not local.exists()  # refused before anything was written


@pytest.mark.e2e
@pytest.mark.slow
def test_the_cli_says_it_in_one_line_instead_of_a_py4j_trace(tmp_path, s3):  # noqa: F811 (the fixture)
    # The driver's own checks of the output (safety, lock) reach the local S3 (`s3`); Spark's half cannot.
    output = f"{s3}/runs/x"
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"text": "hello"}\n')
    config = tmp_path / "pipeline.yaml"
    config.write_text("stages: {}\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "thresher.cli",
            "-q",
            "run",
            str(config),
            "--input",
            str(corpus),
            "--output",
            output,
            "--spark-conf",
            "spark.ui.enabled=false",
            "--spark-conf",
            "spark.driver.memory=1g",
            "--spark-conf",
            f"spark.driver.extraJavaOptions={FAST_JVM}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    # The JVM's own start-up notice aside, stderr is the one line.
    jvm_notice = "WARNING: Using incubator modules"
    errors = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(jvm_notice)]
    hadoop = objectstore.spark_hadoop_version()
    assert errors == [
        f"thresher: error: {output}: Spark has no Hadoop file system for s3:// "
        "(org.apache.hadoop.fs.s3a.S3AFileSystem is not on the classpath): start Spark with "
        f"--packages org.apache.hadoop:hadoop-aws:{hadoop} (or use the thresher image, which carries it; "
        "see the README's 'Object stores')"
    ], result.stderr[-3000:]


def test_the_sessions_hadoop_settings_are_the_drivers_storage_options(spark, monkeypatch):
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    settings = {
        "fs.s3a.access.key": "AK",
        "fs.s3a.secret.key": "SK",
        "fs.s3a.endpoint": "http://127.0.0.1:9",
        "fs.azure.account.key.acct.dfs.core.windows.net": "AZKEY",
    }
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    try:
        for key, value in settings.items():
            hadoop.set(key, value)
        objectstore.configure_from_spark(spark)
        options = objectstore.storage_options("s3a://bucket/run")
        assert options is not None
        assert options["AWS_ACCESS_KEY_ID"] == "AK" and options["AWS_SECRET_ACCESS_KEY"] == "SK"
        assert options["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9" and options["AWS_ALLOW_HTTP"] == "true"
        assert objectstore.storage_options("abfss://c@acct.dfs.core.windows.net/run")["AZURE_STORAGE_ACCOUNT_KEY"] == (
            "AZKEY"
        )
        # The other way round: an endpoint only in the environment reaches S3A on the executors.
        for key in settings:
            hadoop.unset(key)
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:10")
        objectstore.configure_from_spark(spark)
        assert hadoop.get("fs.s3a.endpoint") == "http://127.0.0.1:10"
        assert hadoop.get("fs.s3a.path.style.access") == "true"
    finally:
        for key in [*settings, "fs.s3a.path.style.access"]:
            hadoop.unset(key)
        objectstore.configure({})
