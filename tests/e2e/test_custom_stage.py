"""Writing your own stage: a package that declares a `thresher.stages` entry point (tests/custom_stage, the
README's example) is found by `thresher stages` and runs in a pipeline, end to end through the CLI."""

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

pytestmark = pytest.mark.e2e

PACKAGE = PROJECT_ROOT / "tests" / "custom_stage"


def _installed(site: Path) -> dict[str, str]:
    """An environment in which the example package is installed: its code and its distribution metadata (the
    entry point as `pip install tests/custom_stage` would record it from its pyproject.toml)."""
    info = site / "thresher_shouting-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: thresher-shouting\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[thresher.stages]\nshouting = thresher_shouting\n")
    path = os.pathsep.join([str(site), str(PACKAGE), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def _thresher(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "thresher.cli", *args], capture_output=True, text=True, env=env, timeout=1500
    )


def _rows(root: Path) -> list[dict]:
    uris = DeltaTable(str(root)).file_uris()
    return ds.dataset(uris).to_table().to_pylist() if uris else []


def test_a_stage_from_an_installed_package_runs_end_to_end(tmp_path):
    env = _installed(tmp_path / "site")
    listed = _thresher(env, "stages", "shouting")
    assert listed.returncode == 0, listed.stderr
    assert "shouting (row): Drops documents written mostly in capital letters" in listed.stdout
    assert "max_upper_fraction: number (>= 0, <= 1); default 0.5" in listed.stdout

    texts = {
        "calm-1": "The river ferries run every hour in summer.",
        "calm-2": "Tickets are sold at the pier and on board.",
        "loud-1": "THE FERRIES ARE CANCELLED TODAY!!!",
        "loud-2": "BUY YOUR TICKETS NOW, before it is TOO LATE",
        "mixed": "NASA and the ESA announced a joint mission today.",
    }
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in texts.items()))
    config = tmp_path / "custom.yaml"
    config.write_text(
        f"run: {{output: {tmp_path / 'out'}, report: false}}\n"
        f"input: {{path: {corpus}}}\n"
        "stages:\n  normalize: {}\n  shouting: {max_upper_fraction: 0.6}\n"
    )
    ran = _thresher(env, "--quiet", "run", str(config), "--spark-conf", "spark.ui.enabled=false")
    assert ran.returncode == 0, ran.stderr[-3000:]
    kept = {r["doc_id"]: r["shouting"] for r in _rows(tmp_path / "out" / "kept")}
    excluded = {r["doc_id"]: (r["stage"], r["reason"]) for r in _rows(tmp_path / "out" / "excluded")}
    assert sorted(kept) == ["calm-1", "calm-2", "mixed"]
    assert excluded == {"loud-1": ("shouting", "shouting"), "loud-2": ("shouting", "shouting")}
    assert kept["mixed"]["upper_fraction"] == pytest.approx(7 / 40)
    stats = {r["stage"]: r for r in _rows(tmp_path / "out" / "stats")}
    assert dict(stats["shouting"]["reason_counts"]) == {"shouting": 2}
