"""`--set stages.X.param.key=value` where `param` is a map (e.g. `gopher_repetition.dup_n_grams`) and the config
does not set it: the dotted path would create a one-entry map that replaces the whole default, silently
switching off every other entry ({5: 0.2} drops the default 6- to 10-gram rules). Such a `--set` is refused with
the value to give instead; a map the config sets is edited entry by entry as the user expects, and nested
parameter groups (pydantic models) keep their other defaults anyway."""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel

from thresher.errors import ConfigError
from thresher.stages.registry import available_stages, stage_class


def check_set_into_default_map(raw: dict[str, Any], dotted: str) -> None:
    """Raise ConfigError for `--set stages.X.param.key=...` into a map parameter the config does not set."""
    parts = dotted.split(".")
    if len(parts) < 4 or parts[0] != "stages" or parts[1] not in available_stages():
        return
    stage_config = (raw.get("stages") or {}).get(parts[1])
    if isinstance(stage_config, dict) and stage_config.get(parts[2]) is not None:
        return
    params = stage_class(parts[1]).Params
    field = params.model_fields.get(parts[2])
    if field is None or not _is_map(field.annotation):
        return
    default = field.get_default(call_default_factory=True)
    shown = json.dumps(default, default=str) if isinstance(default, dict) else "{...}"
    raise ConfigError(
        f"--set {dotted}: stages.{parts[1]}.{parts[2]} is not set in the config, and setting one entry would replace "
        f"its whole default {shown}; give the whole map: --set 'stages.{parts[1]}.{parts[2]}={{...}}'"
    )


def _is_map(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is dict:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_map(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    return isinstance(annotation, type) and issubclass(annotation, dict) and not issubclass(annotation, BaseModel)
