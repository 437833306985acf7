"""`thresher select`: apply selection stages to an earlier run's kept documents, without rescoring them."""

from __future__ import annotations

import argparse
from pathlib import Path

from thresher.commands.run import add_run_options, execute, load_run_config
from thresher.conf import read_yaml
from thresher.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "select",
        help="apply selection stages to an earlier run's kept documents",
        description=(
            "Score once, select many: read the kept/ table of an earlier run (with all its score and decision "
            "columns) and run the stages of SELECT.yaml on it, writing a new run (kept, excluded, stats, "
            "manifest) to --output."
        ),
    )
    parser.add_argument("--from", dest="source", required=True, metavar="RUN_OUTPUT", help="an earlier run's output")
    parser.add_argument("--conf", required=True, metavar="SELECT.yaml", help="run/spark/stages sections, no input")
    parser.add_argument("--output", required=True, help="output directory of the selection run")
    add_run_options(parser)
    parser.set_defaults(handler=_select)


def _select(args: argparse.Namespace) -> int:
    data = read_yaml(Path(args.conf))
    if "input" in data:
        raise ConfigError(f"{args.conf}: a selection config has no input section; its input is --from {args.source}")
    source = str(Path(args.source).resolve()) if "://" not in args.source else args.source
    data["input"] = {"path": source, "format": "run"}
    return execute(load_run_config(args, args.conf, data=data), progress=not args.quiet)
