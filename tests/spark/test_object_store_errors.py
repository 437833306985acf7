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
def test_the_cli_says_it_in_one_line_instead_of_a_py4j_trace(tmp_path):
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
            "s3://bucket/runs/x",
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
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    hadoop = objectstore.spark_hadoop_version()
    assert errors == [
        "thresher: error: s3://bucket/runs/x: Spark has no Hadoop file system for s3:// "
        "(org.apache.hadoop.fs.s3a.S3AFileSystem is not on the classpath): start Spark with "
        f"--packages org.apache.hadoop:hadoop-aws:{hadoop} (or use the thresher image, which carries it; "
        "see the README's 'Object stores')"
    ], result.stderr[-3000:]
