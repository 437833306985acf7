"""`thresher index stats PATH`: what a dedup index holds (documents, runs, rows per kind, files, size)."""

from __future__ import annotations

import argparse
import json

from thresher.conf import parse_spark_conf


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "index",
        help="inspect a dedup index (the documents earlier runs kept)",
        description="A dedup index is the Delta table that exact_dedup, url_dedup and minhash_dedup read and update "
        "with `index: PATH`. `stats` prints its documents, the runs that added them, its rows per kind of key, "
        "its files and size, and the run holding its lease (if one is updating it).",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    stats = actions.add_parser("stats", help="documents, runs, size", description="Print what the index holds.")
    stats.add_argument("path", metavar="PATH", help="the dedup index (directory or object-store URI)")
    stats.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    stats.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE")
    stats.set_defaults(handler=_stats)


def _stats(args: argparse.Namespace) -> int:
    from thresher.dedup.index import DedupIndex
    from thresher.spark import get_spark

    spark = get_spark(parse_spark_conf(args.spark_conf))
    stats = DedupIndex(spark, args.path).stats()
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"dedup index {stats['path']} (Delta version {stats['version']})")
    print(f"  documents: {stats['documents']}")
    print(f"  runs: {len(stats['runs'])}")
    for run_id, documents in stats["runs"].items():
        print(f"    {run_id}: {documents} documents")
    kinds = ", ".join(f"{kind} {rows}" for kind, rows in stats["rows_per_kind"].items())
    print(f"  rows per kind: {kinds}")
    print(f"  size: {stats['bytes'] / 2**20:.2f} MiB in {stats['files']} files")
    lease = stats["lease"]
    print(f"  being updated by run {lease.get('run_id')!r} since {lease.get('since')}" if lease else "  not locked")
    return 0
