"""Issue 12, item 17, end to end: Ctrl-C (SIGINT) in the middle of `thresher run` ends with exit code 130, one
line with the resume hint and no trace, and the output lock released, and the next run resumes to the same
output as an uninterrupted run; a disk that fills up mid-run is one line and exit code 2."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import PROJECT_ROOT, TEST_SPARK_CONF
from tests.e2e.signals import signal_when_logged
from thresher.conf import load_config
from thresher.io.delta import DeltaStore
from thresher.output_lock import LOCK_NAME
from thresher.runner import run_pipeline

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

STAGES = {"normalize": {}, "length": {"min_words": 5}, "exact_dedup": {}}


def _corpus(path: Path, docs: int, words_per_doc: int = 30) -> Path:
    import random

    rng = random.Random(12)
    vocabulary = [f"w{n}" for n in range(5000)]
    rows = [
        {"id": f"d{i}", "text": " ".join(rng.choice(vocabulary) for _ in range(words_per_doc + i % 7)) + "."}
        for i in range(docs)
    ]
    rows += [{"id": "copy", "text": rows[0]["text"]}]  # one exact duplicate
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def _config_file(path: Path) -> Path:
    path.write_text(orjson.dumps({"run": {"mode": "filter", "report": False}, "stages": STAGES}).decode())
    return path


def _command(config: Path, corpus: Path, output: Path) -> list[str]:
    args = [sys.executable, "-m", "thresher.cli", "run", str(config), "--input", str(corpus), "--output", str(output)]
    for key in ("spark.master", "spark.driver.memory", "spark.sql.shuffle.partitions", "spark.ui.enabled"):
        args += ["--spark-conf", f"{key}={TEST_SPARK_CONF[key]}"]
    return args


def _kept(spark, output: Path) -> dict[str, str]:
    rows = DeltaStore(spark, "delta-rs").read(str(output / "kept")).select("doc_id", "text").collect()
    return {r.doc_id: r.text for r in rows}


def test_ctrl_c_mid_run_is_one_line_releases_the_lock_and_resumes(spark, tmp_path):
    corpus = _corpus(tmp_path / "corpus.jsonl", 300)
    config = _config_file(tmp_path / "conf.yaml")
    output = tmp_path / "interrupted"
    # Once the first segment after ingest is under way: Ctrl-C, as a terminal sends it (to the whole group).
    process, seen = signal_when_logged(_command(config, corpus, output), ": started with", signal.SIGINT)
    _, rest = process.communicate(timeout=120)
    seen.append(rest)
    stderr = "".join(seen)
    assert process.returncode == 130, stderr[-3000:]
    after = stderr.split(": started with", 1)[1]
    assert "thresher: interrupted; re-run the same command to resume" in after.splitlines()[-1]
    assert "Traceback" not in after and "py4j" not in after, after[-3000:]
    assert not (output / LOCK_NAME).exists()
    assert orjson.loads((output / "manifest.json").read_bytes())["status"] == "failed"

    # The same command again (in this process: its Spark session is warm) resumes and finishes.
    def run(out: Path):
        return run_pipeline(load_config(config, input_path=str(corpus), output=str(out)), spark)

    resumed = run(output)
    assert "00_ingest" in resumed.reused
    reference = tmp_path / "reference"
    run(reference)
    assert _kept(spark, output) == _kept(spark, reference)
    assert len(_kept(spark, reference)) == 300


def test_a_full_disk_is_one_line(tmp_path):
    disk = tmp_path / "small-disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill up (needs root): {mounted.stderr.decode().strip()}")
    try:
        corpus = _corpus(tmp_path / "corpus.jsonl", 3000, words_per_doc=200)  # ~5 MB of hardly compressible text
        result = subprocess.run(
            _command(_config_file(tmp_path / "conf.yaml"), corpus, disk / "out"),
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        subprocess.run(["umount", str(disk)], check=False)
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("thresher: error:")]
    assert len(errors) == 1 and "the disk is full (No space left on device)" in errors[0], result.stderr[-3000:]
    assert "Traceback" not in result.stderr
