"""manifest.json: what a run is (config as resolved, versions, input fingerprint) and how far it got.

The record itself is `thresher.core.records.Manifest`; this module reads and writes it."""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from thresher.core.records import Manifest, SegmentRecord
from thresher.io import fs, objectstore

__all__ = ["Manifest", "SegmentRecord", "new_manifest", "now", "package_versions", "read_manifest", "write_manifest"]

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


def read_manifest(path: str) -> Manifest | None:
    if not fs.exists(path):
        return None
    return Manifest.from_json(fs.read_text(path))


def write_manifest(path: str, manifest: Manifest) -> None:
    manifest.updated_at = now().isoformat()
    # Storage credentials given as config values or command-line settings never reach the manifest.
    written = {
        **manifest.to_dict(),
        "config": objectstore.redact_secrets(manifest.config),
        "command": objectstore.redact_arguments(manifest.command),
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
) -> Manifest:
    return Manifest(
        run_id=run_id,
        status="running",
        created_at=now().isoformat(),
        config_path=config_path,
        config=config,
        input_fingerprint=input_fingerprint,
        input_files=input_files,
        versions=package_versions(),
        table_format=table_format,
        spark_master=spark_master,
        command=list(sys.argv),
    )
