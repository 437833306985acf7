"""Run-output inputs and the `thresher select` command line, before Spark does any work."""

from __future__ import annotations

import json

import pytest

from thresher.cli import EXIT_ERROR, main
from thresher.conf import InputConfig
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
