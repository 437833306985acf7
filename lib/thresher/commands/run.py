"""`thresher run` and `thresher resume`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from thresher.conf import PipelineConfig, load_config
from thresher.errors import ResumeError
from thresher.io.layout import OutputLayout
from thresher.manifest import read_manifest
from thresher.plan import check_until


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="run a pipeline config", description="Run a pipeline config.")
    run.add_argument("config", help="pipeline YAML (see conf/)")
    run.add_argument(
        "--input",
        action="append",
        metavar="PATH",
        help="input path or glob (replaces the config's inputs; repeatable: each --input is its own input with "
        "its own source name)",
    )
    run.add_argument("--output", help="output directory (replaces run.output)")
    run.add_argument(
        "--until",
        metavar="STAGE",
        help="stop after the segment that runs STAGE (the full pipeline's plan, so a later run reuses what this "
        "one committed); the final tables are written by a run without --until",
    )
    add_run_options(run)
    run.set_defaults(handler=_run)

    resume = subparsers.add_parser(
        "resume", help="resume an interrupted run", description="Resume the run in OUTPUT_DIR with its config."
    )
    resume.add_argument("output", metavar="OUTPUT_DIR")
    resume.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE")
    resume.set_defaults(handler=_resume)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that starts a run takes (`run`, `select`)."""
    parser.add_argument("--run-id", help="run id (default: UTC time and input fingerprint)")
    parser.add_argument("--mode", choices=["annotate", "filter"], help="annotate: record decisions; filter: remove")
    parser.add_argument("--stages", help="comma-separated stage ids: run only these stages of the config, in order")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value by dotted key, e.g. stages.length.min_words=50 (repeatable)",
    )
    parser.add_argument(
        "--spark-conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Spark setting for this run (repeatable)",
    )
    parser.add_argument(
        "--allow-other-files",
        action="store_true",
        help="write into an output directory that holds files thresher did not write (refused otherwise)",
    )


def load_run_config(args: argparse.Namespace, path: str, **overrides: Any) -> PipelineConfig:
    """The config at `path` with the run options of `args` applied (plus `overrides` for load_config)."""
    sets = [*args.set, "run.allow_other_files=true"] if args.allow_other_files else args.set
    return load_config(
        path,
        sets=sets,
        output=args.output,
        mode=args.mode,
        run_id=args.run_id,
        only_stages=[s.strip() for s in args.stages.split(",") if s.strip()] if args.stages else None,
        spark_conf=args.spark_conf,
        **overrides,
    )


def _run(args: argparse.Namespace) -> int:
    config = load_run_config(args, args.config, input_path=args.input)
    if args.until is not None:
        check_until(args.until, config.stage_ids)
    return execute(config, progress=not args.quiet, until=args.until)


def _resume(args: argparse.Namespace) -> int:
    layout = OutputLayout(args.output)
    manifest = read_manifest(layout.manifest)
    if manifest is None:
        raise ResumeError(f"{args.output} holds no run (no manifest.json); start one with `thresher run`")
    config = load_config(data=manifest.config, spark_conf=args.spark_conf, output=args.output)
    return execute(config, progress=not args.quiet)


def execute(config: PipelineConfig, progress: bool, until: str | None = None) -> int:
    from thresher.preflight import check_java, check_local_inputs, check_output_writable

    check_local_inputs([p for item in config.inputs for p in item.path])
    if config.run.output:
        check_output_writable(config.run.output)
    check_java()
    # Imported here so that config errors are reported before Spark is even imported.
    from thresher.progress import progress_on_terminal
    from thresher.runner import run_pipeline
    from thresher.summary import print_summary  # imports the runner: `thresher --help` needs neither

    with progress_on_terminal(enabled=progress):
        result = run_pipeline(config, until=until)
    print_summary(result, sys.stdout)
    return 0
