"""The CLI as a user meets it: errors are one clear line and exit code 2, before Spark starts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.e2e


def _thresher(*args: str, cwd=PROJECT_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "thresher.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_bad_config_fails_fast_with_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: {path: x.jsonl}\nstages:\n  length: {min_words: many}\n")
    result = _thresher("run", str(bad))
    assert result.returncode == 2
    assert "thresher: error: invalid config" in result.stderr
    assert "stages.length.min_words: 'many' is not allowed" in result.stderr
    assert "Traceback" not in result.stderr and "SparkSession" not in result.stderr


def test_resume_of_an_empty_directory_says_what_to_do(tmp_path):
    result = _thresher("resume", str(tmp_path))
    assert result.returncode == 2 and "no manifest.json" in result.stderr


def test_stages_lists_parameters():
    result = _thresher("stages", "length")
    assert result.returncode == 0
    assert "length (row)" in result.stdout and "min_words" in result.stdout


def test_demo_corpus_is_deterministic(tmp_path):
    for name in ("a.jsonl", "b.jsonl"):
        assert _thresher("demo-corpus", str(tmp_path / name), "--docs", "200").returncode == 0
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_until_a_stage_not_in_the_config_fails_before_spark_starts():
    result = _thresher("run", "conf/demo.yaml", "--until", "nope")
    assert result.returncode == 2
    assert "--until nope: not a stage of this pipeline; its stages are: normalize, length" in result.stderr
    assert "SparkSession" not in result.stderr
