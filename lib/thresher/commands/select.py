"""`thresher select`: apply selection stages to an earlier run's kept documents, without rescoring them."""

from __future__ import annotations

import argparse
from pathlib import Path

from thresher.commands.run import execute
from thresher.conf import load_config, read_yaml
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
    parser.add_argument("--run-id", help="run id (default: UTC time and input fingerprint)")
    parser.add_argument("--mode", choices=["annotate", "filter"], help="annotate: record decisions; filter: remove")
    parser.add_argument("--stages", help="comma-separated stage ids: run only these stages of the config")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    parser.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE", help="Spark setting")
    parser.set_defaults(handler=_select)


def _select(args: argparse.Namespace) -> int:
    data = read_yaml(Path(args.conf))
    if "input" in data:
        raise ConfigError(f"{args.conf}: a selection config has no input section; its input is --from {args.source}")
    data["input"] = {"path": str(Path(args.source).resolve()) if "://" not in args.source else args.source}
    data["input"]["format"] = "run"
    config = load_config(
        args.conf,
        data=data,
        sets=args.set,
        output=args.output,
        mode=args.mode,
        run_id=args.run_id,
        only_stages=[s.strip() for s in args.stages.split(",") if s.strip()] if args.stages else None,
        spark_conf=args.spark_conf,
    )
    return execute(config)
