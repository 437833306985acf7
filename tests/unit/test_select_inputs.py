"""Run-output inputs and the `thresher select` command line, before Spark does any work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thresher.cli import EXIT_ERROR, main
from thresher.conf import InputConfig, load_config, read_yaml
from thresher.errors import InputError
from thresher.io.inputs import plan_inputs


def _run_dir(tmp_path, status: str):
    root = tmp_path / "run"
    (root / "kept" / "_delta_log").mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps({"run_id": "r", "status": status}))
    return root


def test_a_finished_run_output_is_planned_as_a_run_input(tmp_path):
    root = _run_dir(tmp_path, "succeeded")
    (planned,) = plan_inputs(None, (InputConfig(path=[str(root)]),))
    assert planned.format == "run" and [f.path for f in planned.files] == [str(root)]


def test_an_unfinished_run_is_refused(tmp_path):
    root = _run_dir(tmp_path, "running")
    with pytest.raises(InputError, match="not 'succeeded'"):
        plan_inputs(None, (InputConfig(path=[str(root)], format="run"),))


def test_select_config_must_not_name_an_input(tmp_path, capsys):
    conf = tmp_path / "select.yaml"
    conf.write_text("input: {path: x.jsonl}\nstages: {budget: {budget: 10}}\n")
    code = main(["select", "--from", str(tmp_path), "--conf", str(conf), "--output", str(tmp_path / "o")])
    assert code == EXIT_ERROR
    assert "no input section" in capsys.readouterr().err


def test_shipped_select_config_validates():
    path = Path(__file__).resolve().parents[2] / "conf" / "select.yaml"
    data = read_yaml(path)
    assert "input" not in data
    config = load_config(path, data={**data, "input": {"path": "runs/scored", "format": "run"}})
    assert config.stage_ids[0] == "keep_if" and config.inputs[0].format == "run"
