"""`thresher stages`: the registered stages and their parameters."""

from __future__ import annotations

import argparse

from thresher.stages.base import RowStage
from thresher.stages.registry import available_stages, stage_class


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("stages", help="list stages and their parameters")
    parser.add_argument("stage", nargs="?", help="show one stage")
    parser.set_defaults(handler=_stages)


def _stages(args: argparse.Namespace) -> int:
    for stage_id in [args.stage] if args.stage else available_stages():
        cls = stage_class(stage_id)
        kind = "row" if issubclass(cls, RowStage) else "global"
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        print(f"{stage_id} ({kind}){': ' + summary if summary else ''}")
        for name, field in cls.Params.model_fields.items():
            default = field.get_default(call_default_factory=True)
            print(f"    {name}: {field.annotation!s} = {default!r}".replace("typing.", ""))
    return 0
