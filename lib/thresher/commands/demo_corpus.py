"""`thresher demo-corpus`: write the built-in demo corpus."""

from __future__ import annotations

import argparse

from thresher.demo import generate_demo_corpus
from thresher.demo_warc import generate_demo_warc


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo-corpus",
        help="write the demo corpus (a crawl as .warc.gz, or JSON lines)",
        description="Write a deterministic web-like corpus with boilerplate, spam, duplicates, several "
        "languages and malformed records: HTML pages in a WARC when OUT ends with .warc.gz (the `make demo` "
        "crawl), extracted text as JSON lines otherwise.",
    )
    parser.add_argument("output", metavar="OUT.jsonl|OUT.warc.gz")
    parser.add_argument(
        "--docs", type=int, default=None, help="documents (pages) before malformed records (default 3000; WARC 1200)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.set_defaults(handler=_demo_corpus)


def _demo_corpus(args: argparse.Namespace) -> int:
    warc = args.output.lower().endswith(".warc.gz")
    if warc:
        counts = generate_demo_warc(args.output, args.docs or 1200, args.seed)
    else:
        counts = generate_demo_corpus(args.output, args.docs or 3000, args.seed)
    total = sum(counts.values())
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"wrote {total} {'pages' if warc else 'records'} to {args.output} ({kinds})")
    return 0
