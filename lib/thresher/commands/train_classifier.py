"""`thresher train-classifier`: train a quality or toxicity classifier from positive and negative sources."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from thresher.models.classifier import CLASSIFIER_FILE, FASTTEXT_FILE, METRICS_FILE
from thresher.models.dataset import SamplingSpec, SourceSpec
from thresher.models.embeddings import DEFAULT_MODEL
from thresher.models.train import FastTextOptions, HeadOptions, TrainRequest

_FT = FastTextOptions()
_HEAD = HeadOptions()
_SAMPLING = SamplingSpec()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-classifier",
        help="train a fastText or embedding-head classifier",
        description=(
            "Train a binary classifier for the quality_fasttext, quality_embedding or toxicity stages. Sources are "
            "read like pipeline inputs (JSONL[.gz|.zst], Parquet, Delta; globs and directories), sampled and "
            f"balanced with Spark. Writes {CLASSIFIER_FILE} (+ {FASTTEXT_FILE}) and {METRICS_FILE} to --output."
        ),
    )
    parser.add_argument("--kind", choices=["fasttext", "embedding"], required=True)
    parser.add_argument("--output", required=True, help="directory for the classifier (local path)")
    sources = parser.add_argument_group("training data")
    sources.add_argument("--positive", action="append", default=[], metavar="PATH", help="positive-class input")
    sources.add_argument("--negative", action="append", default=[], metavar="PATH", help="negative-class input")
    sources.add_argument("--labelled", action="append", default=[], metavar="PATH", help="input with a label field")
    sources.add_argument("--label-field", default="label", help="label of --labelled records (dotted path)")
    sources.add_argument(
        "--positive-min", type=float, default=1.0, help="a label >= this is positive (e.g. 3 for 0-5 edu scores)"
    )
    sources.add_argument("--format", choices=["auto", "jsonl", "parquet", "delta"], default="auto")
    sources.add_argument("--text-field", default="text")
    sources.add_argument("--id-field", default="id")
    sampling = parser.add_argument_group("sampling and evaluation")
    sampling.add_argument("--max-per-class", type=int, default=_SAMPLING.max_per_class)
    sampling.add_argument(
        "--balance", choices=["downsample", "none"], default="downsample", help="cut the larger class to the smaller"
    )
    sampling.add_argument("--seed", type=int, default=_SAMPLING.seed)
    sampling.add_argument("--holdout", type=float, default=0.2, help="share of each class held out (0: none)")
    sampling.add_argument("--cv", type=int, default=0, metavar="K", help="also report K-fold cross-validation")
    ft = parser.add_argument_group("fastText (--kind fasttext)")
    ft.add_argument("--epoch", type=int, default=_FT.epoch)
    ft.add_argument("--lr", type=float, default=_FT.lr)
    ft.add_argument("--word-ngrams", type=int, default=_FT.word_ngrams)
    ft.add_argument("--dim", type=int, default=_FT.dim)
    ft.add_argument("--min-count", type=int, default=_FT.min_count)
    ft.add_argument("--bucket", type=int, default=_FT.bucket)
    ft.add_argument("--threads", type=int, default=_FT.threads, help="more is faster but not reproducible")
    ft.add_argument("--max-chars", type=int, default=_FT.max_chars)
    head = parser.add_argument_group("embedding head (--kind embedding)")
    head.add_argument("--embedding-model", default=DEFAULT_MODEL, help="sentence-transformers name or directory")
    head.add_argument("--max-seq-length", type=int, default=None)
    head.add_argument("--long-docs", choices=["truncate", "chunk"], default="truncate")
    head.add_argument("--max-chunks", type=int, default=8)
    head.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    head.add_argument("--c", type=float, default=_HEAD.c, help="inverse regularisation of the logistic head")
    parser.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE")
    parser.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from thresher.errors import ConfigError

    if not 0 <= args.holdout < 1:
        raise ConfigError(f"--holdout {args.holdout}: must be in [0, 1)")
    if args.cv == 1 or args.cv < 0:
        raise ConfigError(f"--cv {args.cv}: must be 0 (none) or at least 2")
    if args.max_per_class < 1:
        raise ConfigError(f"--max-per-class {args.max_per_class}: must be positive")
    request = TrainRequest(
        kind=args.kind,
        output=args.output,
        sources=SourceSpec(
            positive=tuple(args.positive),
            negative=tuple(args.negative),
            labelled=tuple(args.labelled),
            label_field=args.label_field,
            positive_min=args.positive_min,
            format=args.format,
            text_field=args.text_field,
            id_field=args.id_field or None,
        ),
        sampling=SamplingSpec(args.max_per_class, args.balance == "downsample", args.seed),
        holdout=args.holdout,
        cv=args.cv,
        fasttext=FastTextOptions(
            args.epoch, args.lr, args.word_ngrams, args.dim, args.min_count, args.bucket, args.threads, args.max_chars
        ),
        head=HeadOptions(c=args.c),
        embedder=_embedder(args) if args.kind == "embedding" else None,
    )
    malformed = [item for item in args.spark_conf if "=" not in item]
    if malformed:
        raise ConfigError(f"--spark-conf {malformed[0]!r}: expected key=value")
    spark_conf = dict(item.split("=", 1) for item in args.spark_conf)
    from thresher.preflight import check_java, require_modules

    # Checked before Spark starts: without them training fails after the Spark work is done.
    modules = ["sklearn"] + (["torch", "sentence_transformers"] if args.kind == "embedding" else [])
    require_modules(modules, f"train-classifier --kind {args.kind}")
    check_java()
    from thresher.models.train import train_classifier
    from thresher.spark import get_spark

    metrics = train_classifier(get_spark(spark_conf), request)
    _print_summary(metrics, args.output, sys.stdout)
    return 0


def _embedder(args: argparse.Namespace) -> Any:
    from thresher.stages.models.embed import Embed, EmbedParams, StageEmbedder

    params = EmbedParams(
        model=args.embedding_model,
        max_seq_length=args.max_seq_length,
        long_docs=args.long_docs,
        max_chunks=args.max_chunks,
        device=args.device,
    )
    return StageEmbedder(Embed(params))


def _print_summary(metrics: dict[str, Any], output: str, out: TextIO) -> None:
    data = metrics["data"]
    print(
        f"trained {metrics['kind']} classifier on {metrics['train_docs']} documents "
        f"(sampled {data['positive_sampled']} positive / {data['negative_sampled']} negative of "
        f"{data['positive_available']} / {data['negative_available']})",
        file=out,
    )
    if "holdout" in metrics:
        h = metrics["holdout"]
        print(
            f"hold-out ({h['docs']} docs): ROC AUC {_num(h['roc_auc'])} (length baseline "
            f"{_num(h['baseline_length_roc_auc'])}), precision {h['precision']:.3f}, recall {h['recall']:.3f} "
            f"at {h['threshold']}",
            file=out,
        )
    if "cross_validation" in metrics:
        cv = metrics["cross_validation"]
        print(
            f"{cv['folds']}-fold cross-validation: ROC AUC {cv['roc_auc_mean']:.3f} ± {cv['roc_auc_std']:.3f} "
            f"(length baseline {cv['baseline_length_roc_auc_mean']:.3f})",
            file=out,
        )
    print(f"wrote {output}/{CLASSIFIER_FILE} and {output}/{METRICS_FILE}", file=out)


def _num(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.3f}"
