"""`thresher train-lm`: train a KenLM-compatible n-gram language model (ARPA) on a reference corpus with Spark.

The corpus is read like pipeline inputs; a share of its documents (by id hash) is held out, the model is trained
on the rest (`thresher.models.ngram_lm`), and the held-out documents are scored with the written model on the
executors for the perplexity percentiles that the `perplexity` stage's buckets and thresholds take."""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField, StructType

from thresher.conf import FieldMap, InputConfig
from thresher.errors import InputError
from thresher.io.delta import DeltaStore, resolve_format
from thresher.io.ingest import QUARANTINE, ingest
from thresher.io.inputs import plan_inputs
from thresher.models.ngram_lm import (
    MAX_ORDER,
    MIN_ORDER,
    MISSING_EXTRA,
    LMOptions,
    LMSummary,
    load_kenlm,
    perplexity,
    score_document,
    summary_path,
    train_ngram_lm,
    write_summary,
)
from thresher.schema import DOC_ID, SOURCE, TEXT
from thresher.text.words import base_language

# Percentiles of the held-out documents' perplexities written to the summary (30 and 60: CCNet's buckets).
HELDOUT_PERCENTILES = (10, 30, 50, 60, 70, 90)
_SCORE_SCHEMA = StructType([StructField("perplexity", DoubleType())])


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


@dataclass(frozen=True)
class LMTrainRequest:
    inputs: tuple[str, ...]
    output: str
    options: LMOptions
    language: str | None = None
    holdout: float = 0.05
    seed: int = 42
    format: str = "auto"
    text_field: str = "text"
    id_field: str | None = "id"
    percentiles: tuple[int, ...] = HELDOUT_PERCENTILES


def train_lm_from_inputs(spark: SparkSession, request: LMTrainRequest) -> LMSummary:
    config = InputConfig(
        path=list(request.inputs),
        format=request.format,  # type: ignore[arg-type]
        source="lm_corpus",
        fields=FieldMap(id=request.id_field, text=request.text_field, url=None, meta=[]),
    )
    store = DeltaStore(spark, resolve_format(spark, "auto"))
    started = time.perf_counter()
    with ingest(spark, plan_inputs(spark, (config,)), store) as records:
        documents = records.where(F.col(QUARANTINE).isNull())
        documents = _in_language(documents, request.language)
        key = F.concat_ws("\u0000", F.col(SOURCE), F.col(DOC_ID))
        unit = (F.xxhash64(key, F.lit(request.seed)).bitwiseAND(F.lit((1 << 53) - 1))).cast("double") / float(1 << 53)
        split = documents.select(TEXT, (unit < F.lit(request.holdout)).alias("heldout"))
        counts = {row["heldout"]: row["count"] for row in split.groupBy("heldout").count().collect()}
        quarantined = records.where(F.col(QUARANTINE).isNotNull()).count()
        if not counts.get(False):
            raise InputError(f"{', '.join(request.inputs)}: no documents to train on")
        summary = train_ngram_lm(split.where(~F.col("heldout")), request.options, request.output)
        train_seconds = time.perf_counter() - started
        heldout = _heldout_perplexities(split.where(F.col("heldout")), request.output, request.percentiles)
    summary.language = request.language
    summary.extra = {
        "train_docs": counts.get(False, 0),
        "quarantined_records": quarantined,
        "train_seconds": round(train_seconds, 1),
        "heldout": {"docs": counts.get(True, 0), **heldout},
        "inputs": list(request.inputs),
    }
    write_summary(request.output, summary)
    return summary


def _in_language(documents: DataFrame, language: str | None) -> DataFrame:
    """Only the documents in `language` when the input says each one's language (an earlier run's output)."""
    if language is None or "language" not in documents.columns:
        return documents
    code = base_language(language)
    prefix = F.lower(F.split(F.col("language.lang"), "[_-]").getItem(0))
    iso3 = ("eng", "zho", "cmn", "jpn", "tha", "lao", "khm")
    aliases = [code, *(other for other in iso3 if base_language(other) == code)]
    return documents.where(prefix.isin(aliases))


def _heldout_perplexities(heldout: DataFrame, model_path: str, points: tuple[int, ...]) -> dict:
    """Percentiles and mean of the held-out documents' perplexities, scored on the executors (with KenLM: without
    the `lm` extra the model is trained but not scored)."""
    if importlib.util.find_spec("kenlm") is None:
        return {"scored": 0, "perplexity_percentiles": {}, "not_scored": MISSING_EXTRA}

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        model = load_kenlm(model_path)
        for batch in batches:
            values = [perplexity(*score_document(model, text or "")) for text in batch.column(0).to_pylist()]
            yield pa.RecordBatch.from_arrays([pa.array(values, pa.float64())], ["perplexity"])

    scored = heldout.select(TEXT).mapInArrow(score, _SCORE_SCHEMA).where(F.col("perplexity").isNotNull())
    quantiles = F.percentile_approx("perplexity", [p / 100 for p in points], 10_000)
    row = scored.agg(quantiles.alias("q"), F.mean("perplexity").alias("mean"), F.count(F.lit(1)).alias("n")).first()
    if row is None or not row["n"]:
        return {"scored": 0, "perplexity_percentiles": {}}
    return {
        "scored": int(row["n"]),
        "mean_perplexity": float(row["mean"]),
        "perplexity_percentiles": {str(p): float(v) for p, v in zip(points, row["q"], strict=True)},
    }
