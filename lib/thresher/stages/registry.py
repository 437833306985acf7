"""Stage registry: stage ids -> classes, filled by importing every module of `thresher.stages`.

Adding a stage means adding a module under `thresher/stages/` that decorates its class with `@register`;
third-party packages can add stages through the `thresher.stages` entry-point group.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from importlib.metadata import entry_points
from typing import TypeVar

from thresher.errors import ConfigError
from thresher.schema import RESERVED_COLUMNS
from thresher.stages.base import Stage

_STAGES: dict[str, type[Stage]] = {}
_INFRASTRUCTURE = {"base", "registry", "fused"}
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_discovered = False
S = TypeVar("S", bound=type[Stage])


def register(cls: S) -> S:
    stage_id = cls.id
    if not _ID_PATTERN.match(stage_id):
        raise ValueError(f"stage id {stage_id!r} must be snake_case (it becomes a column name)")
    if stage_id in RESERVED_COLUMNS:
        raise ValueError(f"stage id {stage_id!r} collides with a canonical column")
    existing = _STAGES.get(stage_id)
    if existing is not None and existing is not cls and existing.__qualname__ != cls.__qualname__:
        raise ValueError(f"stage id {stage_id!r} registered twice ({existing.__module__}, {cls.__module__})")
    _STAGES[stage_id] = cls
    return cls


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    import thresher.stages as package

    for module in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        leaf = module.name.rsplit(".", 1)[-1]
        if leaf not in _INFRASTRUCTURE and not leaf.startswith("_"):
            importlib.import_module(module.name)
    for entry in entry_points(group="thresher.stages"):
        entry.load()
    _discovered = True


def stage_class(stage_id: str) -> type[Stage]:
    _discover()
    try:
        return _STAGES[stage_id]
    except KeyError:
        raise ConfigError(f"unknown stage {stage_id!r}; available: {', '.join(available_stages())}") from None


def available_stages() -> list[str]:
    _discover()
    return sorted(_STAGES)
