"""Labelled training documents, read with thresher's readers and sampled with Spark.

Positive and negative sources (or one labelled source with a label field) go through the same ingest as a
pipeline run (JSONL, Parquet, Delta; bad records are quarantined and counted, not used). Each class is sampled
deterministically by a hash of its documents' ids (the same documents for the same seed, whatever the
partitioning), capped at `max_per_class` and, when `balance` is set, cut to the size of the smaller class.
Only the sample reaches the driver: texts for fastText, vectors (computed on the executors) for the head.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from thresher.errors import InputError
from thresher.io.corpus import read_corpus
from thresher.io.ingest import QUARANTINE
from thresher.io.spec import CorpusFields, CorpusSpec
from thresher.models.embeddings import EMBED, VECTOR, vectors_from_arrow
from thresher.models.encoder import EncoderSpec
from thresher.schema import DOC_ID, META, SOURCE, TEXT

LABEL = "label"
KEY = "key"
RANK = "rank"
WORDS = "words"
STATUS = "status"
POSITIVE, NEGATIVE, QUARANTINED, UNLABELLED = "positive", "negative", "quarantined", "unlabelled"
# Below this many documents in a class the sample is drawn exactly without a hash pre-filter.
_EXACT_BELOW = 20_000
# Documents per partition when the sample is spread over the executors (embedding is the costly step).
_DOCS_PER_PARTITION = 2_000


class Embedder(Protocol):
    """Adds the `embed` column (see `thresher.models.embeddings`) to a frame of documents, on the executors;
    `thresher.stages.models.embed.StageEmbedder` is the `embed` stage in this role."""

    def encoder_spec(self) -> EncoderSpec: ...

    def embed(self, docs: DataFrame) -> DataFrame: ...


@dataclass(frozen=True)
class SourceSpec:
    """Where the training documents are. Either `positive` and `negative`, or `labelled` with `label_field`."""

    positive: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()
    labelled: tuple[str, ...] = ()
    # Dotted path of the label in labelled records; a record is positive when its label >= positive_min
    # (true/false count as 1/0).
    label_field: str = "label"
    positive_min: float = 1.0
    format: str = "auto"
    text_field: str = "text"
    id_field: str | None = "id"


@dataclass(frozen=True)
class SamplingSpec:
    max_per_class: int = 50_000
    balance: bool = True
    seed: int = 42


@dataclass
class Sample:
    """The sampled documents on the driver, ordered by (label, rank): rank is the document's position in its
    class's hash order, which assigns hold-out and cross-validation folds."""

    keys: list[str]
    labels: np.ndarray
    ranks: np.ndarray
    words: np.ndarray
    texts: list[str] | None = None
    vectors: np.ndarray | None = None
    counts: dict[str, int] = field(default_factory=dict)


@contextmanager
def labelled_documents(spark: SparkSession, spec: SourceSpec) -> Iterator[DataFrame]:
    """(key, label, text, status) of every record of the sources: status is `positive`, `negative`, or why the
    record is not used (`quarantined`: not a valid document; `unlabelled`: no usable label). Valid while the
    context is open (ingest keeps the parsed records persisted until then)."""
    if spec.labelled and (spec.positive or spec.negative):
        raise InputError("give either labelled sources or positive and negative ones, not both")
    if not spec.labelled and not (spec.positive and spec.negative):
        raise InputError("training needs positive and negative sources (or labelled sources with a label field)")
    if spec.labelled:
        groups = [("labelled", spec.labelled, None)]
    else:
        groups = [("positive", spec.positive, 1), ("negative", spec.negative, 0)]
    with ExitStack() as stack:
        yield _union([_labelled(spark, stack, spec, *group) for group in groups])


def _labelled(
    spark: SparkSession,
    stack: ExitStack,
    spec: SourceSpec,
    name: str,
    paths: tuple[str, ...],
    label: int | None,
) -> DataFrame:
    """The records of one group of sources with their label (fixed, or read from the label field) and status."""
    corpus = CorpusSpec(
        path=list(paths),
        format=spec.format,
        source=name,
        fields=CorpusFields(id=spec.id_field, text=spec.text_field, meta=[spec.label_field] if label is None else []),
    )
    records = stack.enter_context(read_corpus(spark, [corpus]))
    value = F.lit(label) if label is not None else _label_value(F.col(META)[spec.label_field], spec.positive_min)
    quarantined = F.col(QUARANTINE).isNotNull()
    value = F.when(~quarantined, value)
    status = (
        F.when(quarantined, F.lit(QUARANTINED))
        .when(value.isNull(), F.lit(UNLABELLED))
        .when(value == 1, F.lit(POSITIVE))
        .otherwise(F.lit(NEGATIVE))
    )
    return records.select(
        F.concat_ws("\u0000", F.col(SOURCE), F.col(DOC_ID)).alias(KEY),
        value.cast("int").alias(LABEL),
        F.col(TEXT),
        status.alias(STATUS),
    )


def _union(frames: list[DataFrame]) -> DataFrame:
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    return union


def _label_value(raw: Column, positive_min: float) -> Column:
    lowered = F.lower(F.trim(raw))
    number = (
        F.when(lowered == "true", F.lit(1.0)).when(lowered == "false", F.lit(0.0)).otherwise(raw.try_cast("double"))
    )
    return F.when(number.isNotNull(), (number >= F.lit(positive_min)).cast("int"))


def _hash_unit(key: Column, seed: int) -> Column:
    """A uniform number in [0, 1) from the key: the sampling order."""
    return (F.xxhash64(key, F.lit(seed)).bitwiseAND(F.lit((1 << 53) - 1))).cast("double") / float(1 << 53)


def sample_documents(records: DataFrame, sampling: SamplingSpec) -> tuple[DataFrame, dict[str, int]]:
    """Per class the first n documents in hash order, n = min(class size, max_per_class) (the smaller class's
    n for both when balancing). Adds `rank` (0-based position in the class's hash order) and `words`. Returns
    the counts of records by status too."""
    statuses = {r[STATUS]: int(r["count"]) for r in records.groupBy(STATUS).count().collect()}
    available = {POSITIVE: statuses.get(POSITIVE, 0), NEGATIVE: statuses.get(NEGATIVE, 0)}
    if not available[POSITIVE] or not available[NEGATIVE]:
        raise InputError(f"training needs documents of both classes; found {statuses}")
    counts = {1: available[POSITIVE], 0: available[NEGATIVE]}
    docs = records.where(F.col(LABEL).isNotNull())
    target = {label: min(n, sampling.max_per_class) for label, n in counts.items()}
    if sampling.balance:
        smallest = min(target.values())
        target = dict.fromkeys(target, smallest)
    order = _hash_unit(F.col(KEY), sampling.seed)
    parts = []
    for label in (1, 0):
        members = docs.where(F.col(LABEL) == label).withColumn("_u", order)
        if counts[label] > _EXACT_BELOW and target[label] < counts[label]:
            # Keep a margin above the expected share so the exact cut below almost never runs short.
            fraction = min(1.0, 1.2 * target[label] / counts[label] + 1000 / counts[label])
            members = members.where(F.col("_u") < fraction)
        parts.append(members.orderBy("_u", KEY).limit(target[label]))
    sample = parts[0].unionByName(parts[1])
    rank = F.row_number().over(Window.partitionBy(LABEL).orderBy("_u", KEY)) - 1
    words = F.size(F.split(F.trim(F.col(TEXT)), r"\s+"))
    total = sum(target.values())
    sample = sample.select(KEY, LABEL, TEXT, "_u", rank.alias(RANK), words.alias(WORDS)).drop("_u")
    report = {
        "positive_available": available[POSITIVE],
        "negative_available": available[NEGATIVE],
        "positive_sampled": target[1],
        "negative_sampled": target[0],
        QUARANTINED: statuses.get(QUARANTINED, 0),
        UNLABELLED: statuses.get(UNLABELLED, 0),
    }
    spread = max(records.sparkSession.sparkContext.defaultParallelism, math.ceil(total / _DOCS_PER_PARTITION))
    return sample.repartition(spread, KEY), report


def collect_texts(sample: DataFrame, max_chars: int) -> Sample:
    """The sample with texts (cut to `max_chars`) on the driver."""
    table = sample.select(KEY, LABEL, RANK, WORDS, F.substring(TEXT, 1, max_chars).alias(TEXT)).toArrow()
    return _ordered(table, with_texts=True)


def collect_vectors(sample: DataFrame, embedder: Embedder) -> Sample:
    """The sample with embedding vectors computed on the executors by `embedder`."""
    embedded = embedder.embed(sample.select(KEY, LABEL, RANK, WORDS, TEXT))
    table = embedded.select(KEY, LABEL, RANK, WORDS, F.col(EMBED)[VECTOR].alias(VECTOR)).toArrow()
    return _ordered(table, with_texts=False)


def _ordered(table: pa.Table, with_texts: bool) -> Sample:
    labels = np.asarray(table.column(LABEL).to_numpy(), dtype=np.int64)
    ranks = np.asarray(table.column(RANK).to_numpy(), dtype=np.int64)
    order = np.lexsort((ranks, -labels))
    keys = table.column(KEY).to_pylist()
    sample = Sample(
        keys=[keys[i] for i in order],
        labels=labels[order],
        ranks=ranks[order],
        words=np.asarray(table.column(WORDS).to_numpy(), dtype=np.int64)[order],
    )
    if with_texts:
        texts = table.column(TEXT).to_pylist()
        sample.texts = [texts[i] for i in order]
    else:
        vectors, valid = vectors_from_arrow(table.column(VECTOR))
        if not valid.all():
            raise RuntimeError(f"{int((~valid).sum())} training document(s) could not be embedded (see executor logs)")
        sample.vectors = vectors[order]
    return sample


def holdout_mask(sample: Sample, holdout: float) -> np.ndarray:
    """True for the hold-out documents: the first `holdout` share of each class in hash order."""
    held = np.zeros(len(sample.labels), dtype=bool)
    for label in (0, 1):
        members = sample.labels == label
        cut = math.floor(holdout * int(members.sum()))
        held |= members & (sample.ranks < cut)
    return held
