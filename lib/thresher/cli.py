"""The `thresher` command line. Each sub-command lives in a module of `thresher.commands` with a
`register(subparsers)` function; this module only assembles them and turns errors into messages."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence

from thresher import __version__
from thresher.errors import ThresherError
from thresher.interrupts import DropInterruptTraces, caused_by_interrupt

EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thresher", description="Curate LLM pre-training corpora with Spark.")
    parser.add_argument("--version", action="version", version=f"thresher {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    parser.add_argument("--debug", action="store_true", help="show the full trace of an unexpected error")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    import thresher.commands as commands

    for module in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            importlib.import_module(f"{commands.__name__}.{module.name}").register(subparsers)
    return parser


def configure_logging(quiet: bool, debug: bool = False) -> None:
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    # py4j logs every gateway call at INFO, and a trace per broken connection when a run is interrupted (Ctrl-C):
    # pages that bury the resume hint. They are for --debug.
    logging.getLogger("py4j").setLevel(logging.DEBUG if debug else logging.CRITICAL)
    if not debug:
        for handler in logging.getLogger().handlers:
            handler.addFilter(DropInterruptTraces())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.quiet, args.debug)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    try:
        return int(args.handler(args) or 0)
    except ThresherError as error:
        if caused_by_interrupt(error):
            print("thresher: interrupted; re-run the same command to resume", file=sys.stderr)
            return 130
        print(f"thresher: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("thresher: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        if caused_by_interrupt(error):
            print("thresher: interrupted; re-run the same command to resume", file=sys.stderr)
            return 130
        from thresher.preflight import describe_failure

        # The trace is for developers: in the log at debug level, and on screen with --debug.
        logging.getLogger("thresher").debug("unexpected error", exc_info=True)
        print(f"thresher: error: {describe_failure(error)} (rerun with --debug for the full trace)", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
