"""Issue 12 (trust) through the command line: what a user can fix is refused in one line, exit code 2, before
Spark starts (each test runs the command from the issue)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.e2e


def _thresher(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "thresher.cli", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _one_line_error(result: subprocess.CompletedProcess, text: str) -> None:
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("thresher: error:")]
    assert len(errors) == 1 and text in errors[0], result.stderr
    assert "Traceback" not in result.stderr and "SparkSession" not in result.stderr


def test_set_on_a_stage_not_in_the_config(tmp_path):
    result = _thresher("run", "conf/demo.yaml", "--output", str(tmp_path / "o"), "--set", "stages.dedup.x=1")
    _one_line_error(result, "--set stages.dedup.x: stage 'dedup' is not in the config (its stages: normalize, length")


def test_output_root_is_refused(tmp_path):
    corpus = tmp_path / "in.jsonl"
    corpus.write_text('{"text": "hello"}\n')
    result = _thresher("run", "conf/demo.yaml", "--input", str(corpus), "--output", "/")
    _one_line_error(result, "run.output '/' is the root of a file system")


def test_a_missing_input_is_reported_before_spark_starts(tmp_path):
    result = _thresher("run", "conf/demo.yaml", "--input", str(tmp_path / "nope.jsonl"), "--output", str(tmp_path))
    _one_line_error(result, "nope.jsonl: no such file or directory")


def test_no_java_is_one_line(tmp_path):
    corpus = tmp_path / "in.jsonl"
    corpus.write_text('{"text": "hello"}\n')
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)
    result = _thresher("run", "conf/demo.yaml", "--input", str(corpus), "--output", str(tmp_path / "o"), env=env)
    _one_line_error(result, "Java is not installed (no `java` on PATH and JAVA_HOME is not set)")


def test_an_alias_bomb_is_refused(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("input: {path: x.jsonl}\nlol:\n  " + "\n  ".join(lines) + "\n")
    _one_line_error(_thresher("run", str(bomb)), "YAML alias at line 4")


def test_a_read_only_output_is_refused(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories")
    corpus = tmp_path / "in.jsonl"
    corpus.write_text('{"text": "hello"}\n')
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o555)
    result = _thresher("run", "conf/demo.yaml", "--input", str(corpus), "--output", str(locked / "out"))
    _one_line_error(result, "cannot create it (Permission denied)")
