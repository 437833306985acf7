"""Helpers shared by the quality benchmarks: where the corpora and the reference venv are."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SHARED_DATA = Path(os.environ.get("THRESHER_SHARED_DATA", ROOT.parent / "shared" / "data"))
# The venv with datatrove==0.10.1 (and spacy, regex) installed: see the README's benchmark section.
# `make bench` creates it there.
REFERENCE_PYTHON = Path(
    os.environ.get("THRESHER_DATATROVE_PYTHON", ROOT / "build" / "venvs" / "datatrove" / "bin" / "python")
)
REFERENCE_SCRIPT = ROOT / "bench" / "datatrove_reference.py"


def corpora() -> list[Path]:
    paths = sorted(SHARED_DATA.glob("*.jsonl"))
    if not paths:
        raise SystemExit(f"no corpora in {SHARED_DATA} (set THRESHER_SHARED_DATA)")
    return paths


def check_reference() -> None:
    if not REFERENCE_PYTHON.exists():
        raise SystemExit(
            f"reference venv not found: {REFERENCE_PYTHON}. `make bench` creates it (make reference-venv), or\n"
            "point THRESHER_DATATROVE_PYTHON at the python of a venv with datatrove==0.10.1 spacy==3.8.18 regex."
        )


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return path
