"""`thresher demo-corpus`: write the built-in demo corpus."""

from __future__ import annotations

import argparse

from thresher.demo import generate_demo_corpus


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo-corpus",
        help="write the demo corpus (JSON lines)",
        description="Write a deterministic web-like corpus with boilerplate, spam, duplicates, several "
        "languages and malformed records.",
    )
    parser.add_argument("output", metavar="OUT.jsonl")
    parser.add_argument("--docs", type=int, default=3000, help="documents before malformed records (default 3000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.set_defaults(handler=_demo_corpus)


def _demo_corpus(args: argparse.Namespace) -> int:
    counts = generate_demo_corpus(args.output, args.docs, args.seed)
    total = sum(counts.values())
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"wrote {total} records to {args.output} ({kinds})")
    return 0
