"""`thresher report OUTPUT_DIR [OTHER_DIR]`: the HTML report of a run, or the comparison of two runs."""

from __future__ import annotations

import argparse
import time

from thresher.conf import parse_spark_conf


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write report.html of a run, or compare two runs",
        description="With one run directory: write its report.html (funnel, reasons, signal histograms with "
        "thresholds, languages, stage details, example documents, quarantine, timings, config). With two: "
        "compare run A (the first) with run B side by side: config changes, retention per stage, reasons "
        "that moved, and the documents whose outcome changed; a summary is printed too.",
    )
    parser.add_argument("run", metavar="OUTPUT_DIR", help="a run's output directory")
    parser.add_argument("other", metavar="B_DIR", nargs="?", help="a second run to compare the first with")
    parser.add_argument(
        "--output",
        metavar="HTML",
        help="where to write the page (default: OUTPUT_DIR/report.html, or B_DIR/compare.html with two runs)",
    )
    parser.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE")
    parser.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    # Imported here so that argument errors are reported before Spark is even imported.
    from thresher.io import fs
    from thresher.report.compare import compare_runs
    from thresher.report.compare_report import render_comparison, summary_lines
    from thresher.report.run_data import run_manifest
    from thresher.report.run_report import write_run_report
    from thresher.spark import get_spark

    for root in filter(None, (args.run, args.other)):
        run_manifest(root)
    spark = get_spark(parse_spark_conf(args.spark_conf))
    clock = time.perf_counter()
    if args.other is None:
        path = write_run_report(spark, args.run, args.output)
        print(f"report: {path} ({time.perf_counter() - clock:.1f} s)")
        return 0
    comparison = compare_runs(spark, args.run, args.other)
    path = args.output or fs.join(args.other, "compare.html")
    fs.write_text_atomic(path, render_comparison(comparison))
    print("\n".join(summary_lines(comparison, path)))
    return 0
