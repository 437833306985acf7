"""The Databricks notebooks, executed locally with papermill (parameters injected as papermill does; a local Spark
session instead of the cluster's): one runs a pipeline, the other explores that run."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT
from tests.e2e.standalone import FAST_JVM
from thresher.demo import generate_demo_corpus

papermill = pytest.importorskip(
    "papermill", reason="papermill comes with the notebooks extra, which `make test` installs"
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NOTEBOOKS = PROJECT_ROOT / "notebooks"
SPARK_CONF = (
    f"spark.master=local[2]; spark.driver.memory=1g; spark.ui.enabled=false; spark.driver.extraJavaOptions={FAST_JVM}"
)


def _outputs(notebook: Path) -> list[str]:
    """Every cell's outputs as text: streams, plain-text and HTML representations."""
    cells = json.loads(notebook.read_text())["cells"]
    texts = []
    for cell in cells:
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                texts.append(f"ERROR {output['ename']}: {output['evalue']}")
            texts.append("".join(output.get("text", "")))
            for kind in ("text/plain", "text/html"):
                texts.append("".join(output.get("data", {}).get(kind, "")))
    return texts


def _execute(name: str, target: Path, **parameters: str) -> str:
    papermill.execute_notebook(
        str(NOTEBOOKS / name),
        str(target),
        parameters=parameters,
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
    )
    return "\n".join(_outputs(target))


def test_notebooks_run_a_pipeline_then_explore_it(tmp_path, monkeypatch):
    # The kernel is this interpreter's (the venv with thresher), whichever `python` is first on the PATH.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    corpus = tmp_path / "corpus.jsonl"
    counts = generate_demo_corpus(str(corpus), 300, 7)
    output = tmp_path / "run"
    # The demo config without minhash_dedup, which adds half a minute and nothing the notebooks show.
    demo = yaml.safe_load((PROJECT_ROOT / "conf" / "demo.yaml").read_text())
    del demo["stages"]["minhash_dedup"]
    config = tmp_path / "demo.yaml"
    config.write_text(yaml.safe_dump(demo))

    ran = _execute(
        "run_pipeline.ipynb",
        tmp_path / "run_pipeline.ipynb",
        config=str(config),
        input_path=str(corpus),
        output=str(output),
        spark_conf=SPARK_CONF,
    )
    manifest = json.loads((output / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"
    totals = manifest["totals"]
    assert totals["input_records"] == sum(counts.values())
    assert f"{totals['input_records']} input records = {totals['kept']} kept" in ran
    assert "too_few_words" in ran and "docs_per_second" in ran  # the summary, then the stats frame

    explored = _execute(
        "explore_run.ipynb", tmp_path / "explore_run.ipynb", output=str(output), examples="3", spark_conf=SPARK_CONF
    )
    assert manifest["run_id"] in explored
    assert "too_few_words" in explored  # reasons and removed examples
    assert "invalid_json" in explored  # the quarantine of the demo corpus's malformed records
    assert "<svg" in explored  # the report's charts
    assert "ERROR" not in explored
