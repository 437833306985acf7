"""Paths given in a config: relative paths are resolved against the config file's directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo


def resolve_path(path: str | Path, base_dir: Path | None) -> str:
    """Resolve a path from the config relative to the config file's directory (URIs are left alone)."""
    text = str(path)
    if "://" in text or text.startswith("dbfs:") or Path(text).is_absolute() or base_dir is None:
        return text
    return str((base_dir / text).resolve())


def _resolve_against_config(value: str, info: ValidationInfo) -> str:
    base_dir = (info.context or {}).get("base_dir")
    return resolve_path(value, Path(base_dir) if base_dir else None)


# A file path in a config: relative paths are resolved against the directory of the config file.
ConfigPath = Annotated[str, AfterValidator(_resolve_against_config)]
