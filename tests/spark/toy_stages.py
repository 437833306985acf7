"""Small stages written for tests of stats and reports: a stopword language guesser (a stage with a `lang`
field) and an exact-duplicate remover (a global stage reporting cluster sizes the way dedup stages do)."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, StringType, StructField

from thresher.stages.base import GlobalStage, RowStage, StageContext, StageReport, StageResult
from thresher.stages.fused import DocBatch

STOPWORDS = {
    "en": {"the", "and", "of", "to", "is", "in", "that", "for"},
    "es": {"el", "la", "de", "que", "y", "los", "en", "por"},
    "fr": {"le", "les", "des", "et", "est", "une", "dans", "pour"},
    "it": {"il", "di", "che", "e", "la", "per", "non", "una"},
    "de": {"der", "die", "und", "das", "ist", "nicht", "mit", "ein"},
}
MIN_SCORE = 0.02


def guess_language(text: str) -> tuple[str, float]:
    words = text.lower().split()
    if not words:
        return "", 0.0
    scores = {code: sum(w in stop for w in words) / len(words) for code, stop in STOPWORDS.items()}
    best = max(sorted(scores), key=lambda code: scores[code])
    return (best, scores[best]) if scores[best] > 0 else ("", 0.0)


class StopwordLanguage(RowStage):
    id = "lang_id"

    def signal_fields(self) -> list[StructField]:
        return [StructField("lang", StringType()), StructField("score", DoubleType())]

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        return {"score": (MIN_SCORE, None)}

    def process(self, batch: DocBatch) -> StageResult:
        guesses = [guess_language(t) for t in batch.texts]
        keep = [score >= MIN_SCORE for _, score in guesses]
        return StageResult(
            keep=keep,
            reason=[None if k else "no_language" for k in keep],
            signals={"lang": [g[0] for g in guesses], "score": [g[1] for g in guesses]},
        )


class ExactDuplicates(GlobalStage):
    id = "exact_dupes"

    def signal_fields(self) -> list[StructField]:
        return [StructField("cluster_size", LongType())]

    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        cluster = Window.partitionBy(F.sha2(F.col("text"), 256))
        ranked = df.withColumn("_size", F.count(F.lit(1)).over(cluster)).withColumn(
            "_first", F.min("doc_id").over(cluster)
        )
        ranked = ctx.materialize(ranked, "clusters")
        first = F.col("doc_id") == F.col("_first")
        sizes = ranked.where(first & (F.col("_size") > 1)).groupBy("_size").count().collect()
        report = StageReport(
            metrics={"clusters": float(sum(r["count"] for r in sizes))},
            details={"cluster_size_histogram": {str(r["_size"]): r["count"] for r in sorted(sizes)}},
        )
        result = F.struct(
            first.alias("keep"),
            F.when(~first, F.lit("duplicate")).alias("reason"),
            F.col("_size").cast("long").alias("cluster_size"),
        )
        return ranked.withColumn(self.id, result).drop("_size", "_first"), report
