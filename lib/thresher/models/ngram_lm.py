"""n-gram language models: training a KenLM-compatible ARPA model with Spark, and scoring documents with KenLM.

Training follows what KenLM's `lmplz` computes (Heafield et al. 2013; Chen & Goodman 1998, interpolated modified
Kneser-Ney), with every step a Spark aggregation on the executors:

1. Counting: each document's lines are normalized and tokenized (`thresher.text.lm_tokens`), padded as
   `<s> w1 .. wk </s>`, and every n-gram of orders 1..N is counted (per-partition pre-aggregation, then a
   shuffle). Only one `<s>` pads a sentence, so n-grams starting with `<s>` are shorter than N at most.
2. Adjusted counts: the highest order and n-grams starting with `<s>` keep their counts; any other n-gram's
   count is its number of distinct left extensions (continuation count).
3. Discounts per order from the counts of counts t1..t4 of the adjusted counts: Y = t1 / (t1 + 2 t2),
   D_k = k - (k + 1) Y t_{k+1} / t_k for k = 1, 2, 3+ (Chen & Goodman eq. 26). When they are undefined
   (tiny corpora) the fallback 0.5, 1, 1.5 is used, as `lmplz --discount_fallback` does, and reported.
4. Pruning (`lmplz --prune`): n-grams of order n >= 2 whose raw count is <= threshold[n] are dropped after the
   discounts were computed; their discounted mass moves to the backoff of their context, so every
   distribution still sums to one. Thresholds must be non-decreasing, which keeps every kept n-gram's prefix
   and suffix (their counts are at least as large).
5. Probabilities: u(w|h) = (a(hw) - D(a(hw))) / sum_x a(hx); gamma(h) = (D1 N1(h) + D2 N2(h) + D3 N3+(h) +
   pruned mass) / sum_x a(hx), counting only kept n-grams in N1..N3+; p(w|h) = u(w|h) + gamma(h) p(w|h') with
   the unigrams interpolated with the uniform distribution over the vocabulary (which counts `<unk>`, not
   `<s>`). An ARPA file stores log10 p of every kept n-gram and log10 gamma of every context, so KenLM's backoff
   query returns exactly the interpolated probability.

Only the finished model goes through the driver, streamed order by order into the ARPA file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, LongType, StringType, StructField, StructType

from thresher.io import fs
from thresher.text.lm_tokens import document_sentences

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
# The probability lmplz writes for <s>, which is never predicted.
NO_PROB = -99.0
# lmplz's --discount_fallback defaults: used when an order's counts of counts cannot give discounts.
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
MIN_ORDER, MAX_ORDER = 2, 6
MISSING_EXTRA = "the perplexity stage needs the `kenlm` package: pip install 'thresher[lm]' (or pip install kenlm)"
# Distinct n-grams a counting task holds before it hands them on (bounds the Python worker's memory).
_FLUSH_AT = 500_000
_COUNT_SCHEMA = StructType(
    [StructField("n", IntegerType(), False), StructField("ngram", StringType(), False), StructField("raw", LongType())]
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LMOptions:
    order: int = 5
    # lmplz --prune: n-grams of order i (1-based) with a count <= prune[i-1] are removed; the last value applies
    # to the higher orders; unigrams are never pruned (the first value must be 0).
    prune: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not MIN_ORDER <= self.order <= MAX_ORDER:
            raise ValueError(f"order {self.order}: must be between {MIN_ORDER} and {MAX_ORDER}")
        if self.prune:
            if self.prune[0] != 0:
                raise ValueError(f"prune {list(self.prune)}: the first value (unigrams) must be 0")
            if any(b < a for a, b in zip(self.prune, self.prune[1:], strict=False)):
                raise ValueError(f"prune {list(self.prune)}: values must be non-decreasing")
            if any(v < 0 for v in self.prune) or len(self.prune) > self.order:
                raise ValueError(f"prune {list(self.prune)}: at most {self.order} non-negative values")

    def thresholds(self) -> list[int]:
        """The pruning threshold of each order 1..N."""
        values = list(self.prune) or [0]
        return [values[min(i, len(values) - 1)] for i in range(self.order)]


@dataclass
class LMSummary:
    """What a training produced: written beside the ARPA file as `<model>.json`."""

    order: int
    prune: list[int]
    sentences: int
    tokens: int
    vocabulary: int
    ngrams: list[int]
    discounts: list[list[float]]
    discount_fallback_orders: list[int]
    tokenizer: str = "ccnet-normalized words and punctuation (thresher.text.lm_tokens)"
    language: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------------
# Counting (executors)


def sentence_ngrams(tokens: Sequence[str], order: int) -> Iterator[tuple[int, str]]:
    """(n, n-gram) for every n-gram of orders 1..order of the padded sentence `<s> tokens </s>`."""
    padded = [BOS, *tokens, EOS]
    for end in range(len(padded)):
        for n in range(1, min(order, end + 1) + 1):
            yield n, " ".join(padded[end - n + 1 : end + 1])


def _counts_batch(counts: Counter[tuple[int, str]]) -> pa.RecordBatch:
    keys = list(counts)
    return pa.RecordBatch.from_arrays(
        [
            pa.array([k[0] for k in keys], pa.int32()),
            pa.array([k[1] for k in keys], pa.string()),
            pa.array(list(counts.values()), pa.int64()),
        ],
        schema=pa.schema([("n", pa.int32(), False), ("ngram", pa.string(), False), ("raw", pa.int64())]),
    )


def count_ngrams(texts: DataFrame, order: int, text_column: str = "text") -> DataFrame:
    """(n, ngram, raw) over the documents of `texts`: raw counts of every n-gram of orders 1..order."""

    def count(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        counts: Counter[tuple[int, str]] = Counter()
        for batch in batches:
            for text in batch.column(0).to_pylist():
                for tokens in document_sentences(text or ""):
                    counts.update(sentence_ngrams(tokens, order))
                if len(counts) >= _FLUSH_AT:
                    yield _counts_batch(counts)
                    counts = Counter()
        if counts:
            yield _counts_batch(counts)

    partial = texts.select(F.col(text_column)).mapInArrow(count, _COUNT_SCHEMA)
    return partial.groupBy("n", "ngram").agg(F.sum("raw").alias("raw"))


# ---------------------------------------------------------------------------------------------------------------
# Estimation (executors; only the counts of counts and the discounts reach the driver)


def discounts_from_counts(counts_of_counts: dict[int, int]) -> tuple[list[float], bool]:
    """[D1, D2, D3+] from t1..t4 (Chen & Goodman eq. 26), and whether the fallback had to be used."""
    t = [counts_of_counts.get(k, 0) for k in range(5)]
    if min(t[1], t[2], t[3]) == 0:
        return list(FALLBACK_DISCOUNTS), True
    y = t[1] / (t[1] + 2 * t[2])
    values = [k - (k + 1) * y * t[k + 1] / t[k] for k in (1, 2, 3)]
    if any(not 0 < d <= k for k, d in zip((1, 2, 3), values, strict=True)):
        return list(FALLBACK_DISCOUNTS), True
    return values, False


def _by_order(n: Column, values: dict[int, Column | float]) -> Column:
    expression: Column | None = None
    for order, value in values.items():
        condition = n == F.lit(order)
        value = value if isinstance(value, Column) else F.lit(value)
        expression = F.when(condition, value) if expression is None else expression.when(condition, value)
    assert expression is not None
    return expression


@dataclass
class Estimate:
    """The model as DataFrames, one per order: (ngram, prob, backoff) with log10 values, backoff null where the
    n-gram is no context."""

    orders: list[DataFrame]
    discounts: list[list[float]]
    fallback_orders: list[int]
    vocabulary: int
    persisted: list[DataFrame]

    def unpersist(self) -> None:
        for frame in self.persisted:
            frame.unpersist()


def estimate(raw: DataFrame, options: LMOptions) -> Estimate:
    """Interpolated modified Kneser-Ney probabilities and backoffs from raw counts (n, ngram, raw)."""
    order = options.order
    words = F.split(F.col("ngram"), " ")
    grams = raw.select(
        "n",
        "ngram",
        "raw",
        words.getItem(0).alias("first"),
        F.when(F.col("n") > 1, F.array_join(F.slice(words, 1, F.col("n") - 1), " ")).otherwise("").alias("context"),
        F.when(F.col("n") > 1, F.array_join(F.slice(words, 2, F.col("n") - 1), " ")).alias("lower"),
    )
    extensions = (
        grams.where(F.col("n") > 1)
        .groupBy((F.col("n") - 1).alias("n"), F.col("lower").alias("ngram"))
        .agg(F.count(F.lit(1)).alias("extensions"))
    )
    adjusted = (
        F.when((F.col("n") == 1) & (F.col("ngram") == BOS), F.lit(0))
        .when((F.col("n") == order) | (F.col("first") == BOS), F.col("raw"))
        .otherwise(F.col("extensions"))
    )
    thresholds = options.thresholds()
    rules = {n: F.col("raw") <= t for n, t in enumerate(thresholds, 1) if n > 1 and t > 0}
    pruned = _by_order(F.col("n"), rules) if rules else F.lit(False)
    counted = (
        grams.join(extensions, ["n", "ngram"], "left")
        .select(
            "n",
            "ngram",
            "context",
            "lower",
            adjusted.cast("long").alias("a"),
            F.coalesce(pruned, F.lit(False)).alias("pruned"),
        )
        .persist()
    )
    counts_of_counts: dict[int, dict[int, int]] = {n: {} for n in range(1, order + 1)}
    for row in counted.where(F.col("a").between(1, 4)).groupBy("n", "a").count().collect():
        counts_of_counts[row["n"]][row["a"]] = row["count"]
    discounts, fallback = [], []
    for n in range(1, order + 1):
        values, used_fallback = discounts_from_counts(counts_of_counts[n])
        discounts.append(values)
        if used_fallback:
            fallback.append(n)
            log.warning("order %d: counts of counts %s give no discounts; using %s", n, counts_of_counts[n], values)
    discount = _by_order(
        F.col("n"),
        {
            n: F.when(F.col("a") == 0, F.lit(0.0))
            .when(F.col("a") == 1, F.lit(d[0]))
            .when(F.col("a") == 2, F.lit(d[1]))
            .otherwise(F.lit(d[2]))
            for n, d in enumerate(discounts, 1)
        },
    )
    with_discount = counted.withColumn("d", discount)
    contexts = (
        with_discount.where(~((F.col("n") == 1) & (F.col("ngram") == BOS)))
        .groupBy("n", "context")
        .agg(
            F.sum("a").cast("double").alias("denominator"),
            F.sum(F.when(F.col("pruned"), F.col("a")).otherwise(F.col("d"))).alias("backoff_mass"),
        )
        .select("n", "context", "denominator", (F.col("backoff_mass") / F.col("denominator")).alias("gamma"))
        .persist()
    )
    kept = (
        with_discount.where(~F.col("pruned") & ~((F.col("n") == 1) & (F.col("ngram") == BOS)))
        .join(contexts, ["n", "context"])
        .select("n", "ngram", "lower", ((F.col("a") - F.col("d")) / F.col("denominator")).alias("u"), "gamma")
    )
    vocabulary = counted.where((F.col("n") == 1) & (F.col("ngram") != BOS)).count() + 1  # + <unk>
    probabilities: list[DataFrame] = []
    persisted = [counted, contexts]
    spark = raw.sparkSession
    for n in range(1, order + 1):
        level = kept.where(F.col("n") == n)
        if n == 1:
            root_gamma = contexts.where(F.col("n") == 1).first()
            gamma = float(root_gamma["gamma"]) if root_gamma is not None else 1.0
            uniform = gamma / vocabulary
            unk = spark.createDataFrame([(UNK, uniform)], "ngram string, p double")
            prob = level.select("ngram", (F.col("u") + F.lit(uniform)).alias("p")).unionByName(unk)
        else:
            lower = probabilities[-1].select(F.col("ngram").alias("lower"), F.col("p").alias("p_lower"))
            interpolated = F.col("u") + F.col("gamma") * F.col("p_lower")
            prob = level.join(lower, "lower").select("ngram", interpolated.alias("p"))
        prob = prob.persist()
        persisted.append(prob)
        probabilities.append(prob)
    outputs = []
    for n, prob in enumerate(probabilities, 1):
        logp = F.log10(F.col("p"))
        if n == 1:
            bos = spark.createDataFrame([(BOS, 0.0)], "ngram string, p double")
            prob = prob.unionByName(bos)
            logp = F.when(F.col("ngram") == BOS, F.lit(NO_PROB)).otherwise(logp)
        if n < order:
            gammas = contexts.where(F.col("n") == n + 1).select(F.col("context").alias("ngram"), "gamma")
            framed = prob.join(gammas, "ngram", "left").select(
                "ngram", logp.alias("prob"), F.log10(F.col("gamma")).alias("backoff")
            )
        else:
            framed = prob.select("ngram", logp.alias("prob"), F.lit(None).cast(DoubleType()).alias("backoff"))
        outputs.append(framed)
    return Estimate(outputs, discounts, fallback, vocabulary, persisted)


# ---------------------------------------------------------------------------------------------------------------
# Writing (driver, streamed)


def _format(value: float) -> str:
    return f"{value:.7g}"


def write_arpa(model: Estimate, destination: str) -> list[int]:
    """Write the ARPA file (local path or object-store URI); returns the number of n-grams of each order."""
    sizes = [frame.count() for frame in model.orders]
    fd, local = tempfile.mkstemp(suffix=".arpa", dir=_temporary_dir(destination))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\\data\\\n")
            for n, size in enumerate(sizes, 1):
                out.write(f"ngram {n}={size}\n")
            for n, frame in enumerate(model.orders, 1):
                out.write(f"\n\\{n}-grams:\n")
                for row in frame.orderBy("ngram").toLocalIterator():
                    line = f"{_format(row['prob'])}\t{row['ngram']}"
                    if row["backoff"] is not None and row["backoff"] != 0.0:
                        line += f"\t{_format(row['backoff'])}"
                    out.write(line + "\n")
            out.write("\n\\end\\\n")
        _publish(local, destination)
    finally:
        if os.path.exists(local):
            os.unlink(local)
    return sizes


def _temporary_dir(destination: str) -> str | None:
    """Beside a local destination (so the final rename is atomic), else the system's temporary directory."""
    if fs.is_local(destination):
        directory = os.path.dirname(os.path.abspath(fs.local_path(destination)))
        os.makedirs(directory, exist_ok=True)
        return directory
    return None


def _publish(local: str, destination: str) -> None:
    if fs.is_local(destination):
        os.replace(local, os.path.abspath(fs.local_path(destination)))
        return
    filesystem, path = fs.filesystem(destination)
    with open(local, "rb") as source, filesystem.open_output_stream(path) as target:
        shutil.copyfileobj(source, target, length=1 << 22)


def summary_path(model_path: str) -> str:
    return f"{model_path}.json"


def write_summary(model_path: str, summary: LMSummary) -> None:
    fs.write_text_atomic(summary_path(model_path), json.dumps(asdict(summary), indent=2, sort_keys=True) + "\n")


def read_summary(model_path: str) -> dict[str, Any] | None:
    """The training summary beside a model, if there is one (models trained elsewhere have none)."""
    path = summary_path(model_path)
    return json.loads(fs.read_text(path)) if fs.exists(path) else None


def train_ngram_lm(texts: DataFrame, options: LMOptions, destination: str, text_column: str = "text") -> LMSummary:
    """Count, estimate and write an ARPA model of the documents in `texts` to `destination`."""
    raw = count_ngrams(texts, options.order, text_column).persist()
    try:
        totals = raw.where(F.col("n") == 1).agg(
            F.sum(F.when(F.col("ngram") == BOS, F.col("raw"))).alias("sentences"),
            F.sum(F.when(F.col("ngram") != BOS, F.col("raw"))).alias("tokens"),
        )
        row = totals.first()
        sentences = int(row["sentences"] or 0) if row is not None else 0
        if sentences == 0:
            raise ValueError("the training corpus has no text (no non-empty line after normalization)")
        model = estimate(raw, options)
        try:
            sizes = write_arpa(model, destination)
        finally:
            model.unpersist()
    finally:
        raw.unpersist()
    return LMSummary(
        order=options.order,
        prune=options.thresholds(),
        sentences=sentences,
        tokens=int(row["tokens"] or 0) - sentences,  # words, without the </s> of each sentence
        vocabulary=model.vocabulary,
        ngrams=sizes,
        discounts=model.discounts,
        discount_fallback_orders=model.fallback_orders,
    )


# ---------------------------------------------------------------------------------------------------------------
# Scoring with KenLM (executors)

ARPA_HEADER = "\\data\\"
KENLM_BINARY_MAGIC = b"mmap lm http://kheafield.com/code"


def check_model_file(path: str) -> None:
    """Raise ValueError unless `path` exists and starts like an ARPA file or a KenLM binary."""
    if not fs.exists(path):
        raise ValueError(f"{path}: no such model file (train one with `thresher train-lm`)")
    filesystem, location = fs.filesystem(path)
    with filesystem.open_input_stream(location) as stream:
        head = stream.read(4096)
    if head.startswith(KENLM_BINARY_MAGIC):
        return
    first = next((line.strip() for line in head.decode("utf-8", "replace").splitlines() if line.strip()), "")
    if first != ARPA_HEADER:
        raise ValueError(f"{path}: neither an ARPA file (first line {ARPA_HEADER}) nor a KenLM binary")


def load_kenlm(path: str) -> Any:
    """A `kenlm.Model` for a local path or an object-store URI (copied to a local temporary file first)."""
    try:
        import kenlm
    except ImportError:
        raise RuntimeError(MISSING_EXTRA) from None
    if fs.is_local(path):
        return kenlm.Model(fs.local_path(path))
    filesystem, location = fs.filesystem(path)
    fd, local = tempfile.mkstemp(suffix=os.path.splitext(location)[1] or ".arpa")
    try:
        with os.fdopen(fd, "wb") as target, filesystem.open_input_stream(location) as source:
            shutil.copyfileobj(source, target, length=1 << 22)
        return kenlm.Model(local)
    finally:
        os.unlink(local)


def score_document(model: Any, text: str) -> tuple[float, int]:
    """(log10 probability, LM tokens) of a document under a KenLM model, as CCNet computes it: each normalized,
    tokenized line is one sentence scored with <s> and </s>; tokens count the words plus one </s> per line."""
    log_prob = 0.0
    tokens = 0
    for sentence in document_sentences(text):
        log_prob += model.score(" ".join(sentence), bos=True, eos=True)
        tokens += len(sentence) + 1
    return log_prob, tokens


def perplexity(log_prob: float, tokens: int) -> float | None:
    """10^(-log10 p / tokens); None for a document without LM tokens."""
    return 10.0 ** (-log_prob / tokens) if tokens else None
