"""`train-lm`'s work: read a reference corpus like pipeline inputs, hold out a share of its documents by id hash,
train the n-gram model on the rest with Spark, and score the held-out documents with the written model (on the
executors) for the perplexity percentiles that the `perplexity` stage's buckets and thresholds take."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField, StructType

from thresher.errors import InputError
from thresher.io.corpus import read_corpus
from thresher.io.ingest import QUARANTINE
from thresher.io.spec import CorpusFields, CorpusSpec
from thresher.models.ngram_lm import (
    MISSING_EXTRA,
    LMOptions,
    LMSummary,
    load_kenlm,
    perplexity,
    score_document,
    train_ngram_lm,
    write_summary,
)
from thresher.schema import DOC_ID, SOURCE, TEXT
from thresher.text.words import base_language

_SCORE_SCHEMA = StructType([StructField("perplexity", DoubleType())])


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
    percentiles: tuple[int, ...] = (30, 60)


def train_lm_from_inputs(spark: SparkSession, request: LMTrainRequest) -> LMSummary:
    corpus = CorpusSpec(
        path=list(request.inputs),
        format=request.format,  # type: ignore[arg-type]
        source="lm_corpus",
        fields=CorpusFields(id=request.id_field, text=request.text_field, url=None, meta=[]),
    )
    started = time.perf_counter()
    with read_corpus(spark, [corpus]) as records:
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
