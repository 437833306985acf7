"""`thresher train-lm`: train a KenLM-compatible n-gram language model (ARPA) on a reference corpus with Spark."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from thresher.models.ngram_lm import MAX_ORDER, MIN_ORDER, LMOptions, LMSummary, summary_path

# Percentiles of the held-out documents' perplexities written to the summary (30 and 60: CCNet's buckets).
HELDOUT_PERCENTILES = (10, 30, 50, 60, 70, 90)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-lm",
        help="train an n-gram language model (KenLM ARPA) for the perplexity stage",
        description=(
            "Train an interpolated modified Kneser-Ney n-gram model (what KenLM's lmplz computes) on a reference "
            "corpus, counting with Spark. Inputs are read like pipeline inputs (JSONL[.gz|.zst], Parquet, Delta, "
            "an earlier run's output; globs and directories). Writes the ARPA file to --output and a summary "
            "(counts, discounts, held-out perplexity percentiles) to <output>.json. KenLM's binary format needs "
            "KenLM's build_binary, which the kenlm Python package does not include: the stage loads ARPA directly."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="reference corpus: file, directory or glob")
    parser.add_argument("--output", required=True, help="model file to write, e.g. models/en.arpa (path or URI)")
    parser.add_argument("--order", type=int, default=5, help=f"n-gram order, {MIN_ORDER}-{MAX_ORDER} (CCNet: 5)")
    parser.add_argument(
        "--prune",
        type=int,
        nargs="+",
        default=[],
        metavar="N",
        help="as lmplz --prune: per order, n-grams seen <= N times are dropped (e.g. 0 1 1: singleton 2-grams "
        "and higher); first value 0, non-decreasing; the last applies to the higher orders",
    )
    parser.add_argument(
        "--lang",
        default=None,
        help="language of the model (recorded; the perplexity stage refuses it for another language); with an "
        "input that has language.lang (an earlier run's output) only documents in this language are used",
    )
    parser.add_argument(
        "--holdout",
        type=float,
        default=0.05,
        help="share of documents (by id hash) kept out of training and scored: their perplexity percentiles "
        "go to the summary",
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the hold-out split")
    parser.add_argument("--format", choices=["auto", "jsonl", "parquet", "delta", "run"], default="auto")
    parser.add_argument("--text-field", default="text")
    parser.add_argument("--id-field", default="id")
    parser.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE")
    parser.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from thresher.errors import ConfigError

    try:
        options = LMOptions(order=args.order, prune=tuple(args.prune))
    except ValueError as error:
        raise ConfigError(f"--order/--prune: {error}") from None
    if not 0 <= args.holdout < 1:
        raise ConfigError(f"--holdout {args.holdout}: must be in [0, 1)")
    malformed = [item for item in args.spark_conf if "=" not in item]
    if malformed:
        raise ConfigError(f"--spark-conf {malformed[0]!r}: expected key=value")
    from thresher.models.lm_training import LMTrainRequest, train_lm_from_inputs
    from thresher.spark import get_spark

    request = LMTrainRequest(
        inputs=tuple(args.inputs),
        output=args.output,
        options=options,
        language=args.lang,
        holdout=args.holdout,
        seed=args.seed,
        format=args.format,
        text_field=args.text_field,
        id_field=args.id_field or None,
        percentiles=HELDOUT_PERCENTILES,
    )
    started = time.perf_counter()
    summary = train_lm_from_inputs(get_spark(dict(item.split("=", 1) for item in args.spark_conf)), request)
    print_summary(summary, args.output, time.perf_counter() - started, sys.stdout)
    return 0


def print_summary(summary: LMSummary, output: str, seconds: float, out: TextIO) -> None:
    sizes = ", ".join(f"{n}-grams {count}" for n, count in enumerate(summary.ngrams, 1))
    print(
        f"trained a {summary.order}-gram model on {summary.extra['train_docs']} documents ({summary.sentences} lines, "
        f"{summary.tokens} tokens, vocabulary {summary.vocabulary}) in {seconds:.1f} s: {sizes}",
        file=out,
    )
    if summary.discount_fallback_orders:
        print(f"orders {summary.discount_fallback_orders}: too little data for discounts, used 0.5 1 1.5", file=out)
    heldout = summary.extra.get("heldout")
    if heldout and heldout.get("not_scored"):
        print(f"hold-out ({heldout['docs']} docs) not scored: {heldout['not_scored']}", file=out)
    elif heldout and heldout["docs"]:
        cuts = ", ".join(f"p{p} {v:.1f}" for p, v in heldout["perplexity_percentiles"].items())
        print(f"hold-out ({heldout['docs']} docs) perplexity: {cuts}", file=out)
    print(f"wrote {output} and {summary_path(output)}", file=out)
