"""`thresher stages`: the registered stages, each parameter with its type, default and description."""

from __future__ import annotations

import argparse

from thresher.stages.docs import all_stage_docs, render_markdown, render_text, stage_doc
from thresher.stages.registry import stage_class


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("stages", help="list stages and their parameters")
    parser.add_argument("stage", nargs="?", help="show one stage")
    parser.add_argument(
        "--markdown", action="store_true", help="print the README's stage reference (every stage) as Markdown"
    )
    parser.set_defaults(handler=_stages)


def _stages(args: argparse.Namespace) -> int:
    if args.markdown:
        docs = [stage_doc(stage_class(args.stage))] if args.stage else all_stage_docs()
        print(render_markdown(docs), end="")
        return 0
    docs = [stage_doc(stage_class(args.stage))] if args.stage else all_stage_docs()
    print("\n\n".join(render_text(doc) for doc in docs))
    return 0
