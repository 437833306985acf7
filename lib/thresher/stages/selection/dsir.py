"""`dsir`: Data Selection with Importance Resampling (Xie et al. 2023).

Hashed unigram + bigram features (`buckets` bins) model two distributions: the target corpus (read with
thresher's readers from `target`) and the raw pool (the documents reaching this stage). A document's log
importance weight is the sum over its features of log p_target - log p_raw; `target_count` documents are
resampled without replacement by Gumbel top-k (the largest log weight + Gumbel noise, the noise drawn from
a seeded hash of doc_id), as a distributed ranking without collecting documents. The stats report the KL
divergence between the target and the selected documents' feature distributions, against a random sample of
the same size (`kl_reduction` = KL(target || random) - KL(target || selected)).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, field_validator, model_validator
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, StructField, StructType

from thresher.errors import InputError
from thresher.io.corpus import read_corpus
from thresher.io.ingest import documents
from thresher.io.spec import CorpusFields, CorpusSpec
from thresher.schema import DOC_ID, TEXT
from thresher.select import hashed_ngrams
from thresher.select.ranking import GROUP, RUNNING, VALUE, OrderKey, running_totals
from thresher.select.result import attach
from thresher.select.vectors import uniform
from thresher.stages.base import ConfigPath, GlobalStage, StageContext, StageParams, StageReport
from thresher.stages.registry import register

NOT_SAMPLED = "not_sampled"
_RANDOM_SEED_OFFSET = 7919
# Row of the per-partition counts that carries the number of texts instead of a bucket's count.
_DOCS_BUCKET = -1


class DsirParams(StageParams):
    # The target corpus: file(s), glob(s) or table(s) in any input format thresher reads.
    target: list[ConfigPath] = Field(default_factory=list)
    target_format: Literal["auto", "jsonl", "parquet", "delta", "run"] = Field(
        default="auto", description="Input format of the target corpus (as for `input.format`)."
    )
    target_text_field: str = Field(default="text", description="Field of the target records that holds the text.")
    buckets: int = Field(
        default=hashed_ngrams.DEFAULT_BUCKETS,
        ge=16,
        le=10_000_000,
        description="Hash buckets of the unigram + bigram features.",
    )
    # Add-k smoothing of both feature distributions.
    smoothing: float = Field(default=1.0, gt=0)
    # Documents to select: a count, or a fraction of the documents reaching the stage.
    target_count: int | None = Field(default=None, ge=0)
    target_fraction: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Documents to select as a fraction of those reaching the stage (set this or `target_count`).",
    )

    @field_validator("target", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _complete(self) -> DsirParams:
        if not self.target:
            raise ValueError("target: required (path, glob or list of the target corpus)")
        if (self.target_count is None) == (self.target_fraction is None):
            raise ValueError("set exactly one of target_count and target_fraction")
        return self


@register
class Dsir(GlobalStage):
    """DSIR: importance resampling towards a target corpus on hashed unigram + bigram features."""

    id = "dsir"
    Params = DsirParams
    params: DsirParams

    def signal_fields(self) -> list[StructField]:
        return [
            StructField("log_weight", DoubleType()),
            StructField("sampling_key", DoubleType()),
            StructField("rank", LongType()),
        ]

    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        report = StageReport()
        p = self.params
        target_counts, target_docs = feature_counts(self._target_texts(ctx), p.buckets)
        if not target_counts.any():
            raise InputError(f"stage {self.id}: the target corpus {p.target} has no text")
        pool_counts, _ = feature_counts(df.select(F.col(TEXT)), p.buckets)
        target_p = hashed_ngrams.distribution(target_counts, p.smoothing)
        pool_p = hashed_ngrams.distribution(pool_counts, p.smoothing)
        log_ratio = np.log(target_p) - np.log(pool_p)
        weights = ctx.materialize(
            df.select(DOC_ID, TEXT).mapInArrow(_LogWeights(log_ratio), "doc_id string, _log_weight double"),
            "weights",
        )
        total = weights.count()
        count = min(total, p.target_count if p.target_count is not None else round(p.target_fraction * total))
        key = F.col("_log_weight") + gumbel(uniform(ctx.seed, F.col(DOC_ID)))
        ranked = running_totals(
            weights.select(DOC_ID, F.lit("").alias(GROUP), F.lit(1).cast("long").alias(VALUE), key.alias("_key")),
            [OrderKey("_key", descending=True)],
            ctx.scratch_space,
            "ranked",
        )
        decisions = ctx.materialize(
            ranked.select(DOC_ID, F.col(RUNNING).alias("_rank")).join(
                weights.select(DOC_ID, "_log_weight", key.alias("_key")), on=DOC_ID
            ),
            "decisions",
        )
        self._report(df, decisions, count, total, target_counts, pool_counts, target_docs, ctx.seed, report)
        return attach(
            df,
            decisions,
            self.id,
            keep=F.col("_rank") <= F.lit(count),
            reason=F.lit(NOT_SAMPLED),
            signals=[
                F.col("_log_weight").alias("log_weight"),
                F.col("_key").alias("sampling_key"),
                F.col("_rank").alias("rank"),
            ],
        ), report

    def _target_texts(self, ctx: StageContext) -> DataFrame:
        p = self.params
        target = CorpusSpec(path=list(p.target), format=p.target_format, fields=CorpusFields(text=p.target_text_field))
        with read_corpus(ctx.spark, [target]) as records:
            return ctx.materialize(documents(records).select(TEXT), "target")

    def _report(
        self,
        df: DataFrame,
        decisions: DataFrame,
        count: int,
        total: int,
        target_counts: np.ndarray,
        pool_counts: np.ndarray,
        target_docs: int,
        seed: int,
        report: StageReport,
    ) -> None:
        p = self.params
        selected = df.join(decisions.where(F.col("_rank") <= count).select(DOC_ID), on=DOC_ID).select(TEXT)
        fraction = count / total if total else 0.0
        random = df.where(uniform(seed + _RANDOM_SEED_OFFSET, F.col(DOC_ID)) <= F.lit(fraction)).select(TEXT)
        target_p = hashed_ngrams.distribution(target_counts, p.smoothing)
        kl = {
            name: hashed_ngrams.kl_divergence(target_p, hashed_ngrams.distribution(counts, p.smoothing))
            for name, counts in (
                ("pool", pool_counts),
                ("selected", feature_counts(selected, p.buckets)[0]),
                ("random", feature_counts(random, p.buckets)[0]),
            )
        }
        report.metrics.update(
            target_docs=target_docs,
            pool_docs=total,
            selected=count,
            buckets=p.buckets,
            kl_target_pool=kl["pool"],
            kl_target_random=kl["random"],
            kl_target_selected=kl["selected"],
            kl_reduction=kl["random"] - kl["selected"],
        )


def gumbel(u: Column) -> Column:
    """Standard Gumbel noise from a uniform (0, 1) value."""
    return -F.log(-F.log(u))


def feature_counts(texts: DataFrame, buckets: int) -> tuple[np.ndarray, int]:
    """Hashed n-gram counts summed over a one-column (text) frame, and the number of texts: per-partition sums
    on the executors, one row per non-empty bucket reduced by Spark, at most `buckets` + 1 rows collected."""
    schema = StructType([StructField("bucket", LongType()), StructField("count", DoubleType())])
    partial = texts.mapInArrow(_PartitionCounts(buckets), schema)
    total = np.zeros(buckets, dtype=np.float64)
    docs = 0
    for row in partial.groupBy("bucket").agg(F.sum("count").alias("count")).collect():
        if row["bucket"] == _DOCS_BUCKET:
            docs = int(row["count"])
        else:
            total[row["bucket"]] = row["count"]
    return total, docs


class _PartitionCounts:
    def __init__(self, buckets: int) -> None:
        self.buckets = buckets

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        total = np.zeros(self.buckets, dtype=np.float64)
        docs = 0
        for batch in batches:
            total += hashed_ngrams.counts(_texts(batch), self.buckets)
            docs += batch.num_rows
        nonzero = np.flatnonzero(total)
        buckets = np.append(nonzero, _DOCS_BUCKET)
        values = np.append(total[nonzero], float(docs))
        yield pa.RecordBatch.from_arrays([pa.array(buckets, pa.int64()), pa.array(values)], ["bucket", "count"])


class _LogWeights:
    def __init__(self, log_ratio: np.ndarray) -> None:
        self.log_ratio = log_ratio

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            weights = hashed_ngrams.log_importance(_texts(batch), self.log_ratio)
            yield pa.RecordBatch.from_arrays([batch.column(DOC_ID), pa.array(weights)], [DOC_ID, "_log_weight"])


def _texts(batch: pa.RecordBatch) -> list[str]:
    return [t or "" for t in batch.column(TEXT).to_pylist()]
