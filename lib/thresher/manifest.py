"""manifest.json: what a run is (config as resolved, versions, input fingerprint) and how far it got."""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from thresher.io import fs, objectstore

_PACKAGES = ("thresher", "pyspark", "delta-spark", "deltalake", "pyarrow", "pandas", "numpy", "pydantic")


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def now() -> datetime:
    return datetime.now(UTC)


def read_manifest(path: str) -> dict[str, Any] | None:
    if not fs.exists(path):
        return None
    return json.loads(fs.read_text(path))


def write_manifest(path: str, manifest: dict[str, Any]) -> None:
    manifest["updated_at"] = now().isoformat()
    written = {
        **manifest,
        "config": objectstore.redact_secrets(manifest.get("config")),
        "command": objectstore.redact_arguments(manifest.get("command")),
    }
    fs.write_text_atomic(path, json.dumps(written, indent=2, sort_keys=False, default=str) + "\n")


def new_manifest(
    run_id: str,
    config: dict[str, Any],
    config_path: str | None,
    input_fingerprint: str,
    input_files: list[dict[str, Any]],
    table_format: str,
    spark_master: str | None,
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "status": "running",
        "created_at": now().isoformat(),
        "config_path": config_path,
        "config": config,
        "input_fingerprint": input_fingerprint,
        "input_files": input_files,
        "versions": package_versions(),
        "table_format": table_format,
        "spark_master": spark_master,
        "command": sys.argv,
        "segments": {},
        "totals": {},
    }
