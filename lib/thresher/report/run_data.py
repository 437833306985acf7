"""What a report shows of one run, read from its output directory: manifest, stats rows, and a few example
documents per exclusion reason and per quarantine reason (picked on the executors, never whole tables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from thresher.core.languages import UNDETERMINED_LANGUAGE
from thresher.core.records import Manifest, StageStats
from thresher.errors import ThresherError
from thresher.io.delta import DeltaStore, resolve_format
from thresher.io.layout import OutputLayout
from thresher.manifest import read_manifest
from thresher.schema import DOC_ID, KEEP, REASON, STAGE, TEXT
from thresher.spark import set_job_description

# Characters of a document shown as an example (the page escapes them).
SNIPPET_CHARS = 400
EXAMPLES_PER_GROUP = 3


@dataclass(frozen=True)
class Example:
    doc_id: str
    snippet: str
    chars: int


@dataclass(frozen=True)
class QuarantineExample:
    file: str
    line: int | None
    error: str | None
    raw: str | None


@dataclass
class RunData:
    root: str
    manifest: Manifest
    stats: list[StageStats]
    # (stage, reason) -> example documents the stage removed (filter) or flagged (annotate) for that reason.
    examples: dict[tuple[str, str], list[Example]] = field(default_factory=dict)
    quarantine_examples: dict[str, list[QuarantineExample]] = field(default_factory=dict)
    # Language -> kept documents, characters and tokens (null without `tokens`), read from kept/.
    language_sizes: dict[str, dict[str, int | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.manifest, dict):
            self.manifest = Manifest.from_dict(self.manifest)

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    @property
    def mode(self) -> str:
        return self.manifest.mode

    @property
    def stage_ids(self) -> list[str]:
        return [s.stage for s in self.stats if s.stage != "ingest"]


class RunTables:
    """The committed tables of a run's output directory."""

    def __init__(self, spark: SparkSession, root: str) -> None:
        self.layout = OutputLayout(root)
        self.manifest = run_manifest(root)
        self.spark = spark
        self.store = DeltaStore(spark, resolve_format(spark, "auto"))

    def table(self, name: str) -> DataFrame | None:
        path = getattr(self.layout, name)
        return self.store.read(path) if self.store.exists(path) else None

    def stats(self) -> list[StageStats]:
        frame = self.table("stats")
        if frame is None:
            return []
        rows = frame.where(F.col("run_id") == self.manifest.run_id).collect()
        return [StageStats.from_row(r.asDict(recursive=True)) for r in sorted(rows, key=lambda r: r["stage_index"])]

    def decisions(self, stage_ids: list[str], mode: str) -> DataFrame | None:
        """(doc_id, stage, reason, text) of every document a stage decided against: excluded/ in filter mode,
        the flags on kept/ in annotate mode (one row per flagging stage)."""
        if mode == "filter":
            excluded = self.table("excluded")
            return None if excluded is None else excluded.select(DOC_ID, STAGE, REASON, TEXT)
        kept = self.table("kept")
        if kept is None:
            return None
        flags = [
            F.when(
                F.col(s).getField(KEEP) == F.lit(False),
                F.struct(F.lit(s).alias(STAGE), F.col(s).getField(REASON).alias(REASON)),
            )
            for s in stage_ids
            if s in kept.columns
        ]
        if not flags:
            return None
        exploded = kept.select(DOC_ID, TEXT, F.explode(F.array(*flags)).alias("_flag")).where(
            F.col("_flag").isNotNull()
        )
        return exploded.select(DOC_ID, F.col(f"_flag.{STAGE}").alias(STAGE), F.col(f"_flag.{REASON}"), TEXT)


def run_manifest(root: str) -> Manifest:
    """The manifest of the run in `root`; a clear error when there is none."""
    manifest = read_manifest(OutputLayout(root).manifest)
    if manifest is None:
        raise ThresherError(f"{root} holds no run (no manifest.json); `thresher run` writes one")
    return manifest


def load_run(spark: SparkSession, root: str, examples_per_group: int = EXAMPLES_PER_GROUP) -> RunData:
    tables = RunTables(spark, root)
    set_job_description(spark, f"thresher report {tables.manifest.run_id}")
    data = RunData(root, tables.manifest, tables.stats())
    if examples_per_group:
        _add_examples(tables, data, examples_per_group)
    data.language_sizes = kept_language_sizes(tables, data.stats)
    return data


def kept_language_sizes(tables: RunTables, stats: list[StageStats]) -> dict[str, dict[str, int | None]]:
    """Kept documents, characters and tokens per language (the last language-detecting stage's column), in
    one aggregation over kept/; empty when no stage detects languages."""
    sources = [s.languages["source"] for s in stats if s.languages and s.languages.get("source")]
    kept = tables.table("kept")
    if not sources or kept is None:
        return {}
    language = F.coalesce(F.nullif(F.col(sources[-1]), F.lit("")), F.lit(UNDETERMINED_LANGUAGE))
    tokens = F.sum("tokens") if "tokens" in kept.columns else F.lit(None).cast("long")
    rows = (
        kept.groupBy(language.alias("lang"))
        .agg(F.count(F.lit(1)).alias("docs"), F.sum(F.length(TEXT)).alias("chars"), tokens.alias("tokens"))
        .collect()
    )
    return {r["lang"]: {"docs": r["docs"], "chars": r["chars"] or 0, "tokens": r["tokens"]} for r in rows}


def _add_examples(tables: RunTables, data: RunData, examples_per_group: int) -> None:
    decisions = tables.decisions(data.stage_ids, data.mode)
    if decisions is not None:
        frame = decisions.select(
            STAGE,
            F.coalesce(F.col(REASON), F.lit("unspecified")).alias(REASON),
            DOC_ID,
            snippet(F.col(TEXT)),
            F.length(TEXT).alias("chars"),
        )
        for row in first_per_group(frame, [STAGE, REASON], [F.xxhash64(DOC_ID), F.col(DOC_ID)], examples_per_group):
            data.examples.setdefault((row[STAGE], row[REASON]), []).append(
                Example(row[DOC_ID], row["snippet"], row["chars"])
            )
    quarantine = tables.table("quarantine")
    if quarantine is not None:
        raw = F.substring("raw", 1, SNIPPET_CHARS).alias("raw")
        frame = quarantine.select("reason", "file", "line", "offset", "error", raw)
        order = [F.xxhash64("file", "offset"), F.col("file"), F.col("offset")]
        for row in first_per_group(frame, ["reason"], order, examples_per_group):
            data.quarantine_examples.setdefault(row["reason"], []).append(
                QuarantineExample(row["file"], row["line"], row["error"], row["raw"])
            )


def snippet(text: Column) -> Column:
    return F.substring(text, 1, SNIPPET_CHARS).alias("snippet")


def first_per_group(frame: DataFrame, groups: list[str], order: list[Column], k: int) -> list[Any]:
    """Up to `k` rows per group, the first in `order` (a hash of the id, then the id: a spread of examples that
    does not depend on partitioning). Spark keeps only the top `k` per group before the shuffle."""
    window = Window.partitionBy(*groups).orderBy(*order)
    ranked = frame.withColumn("_rank", F.row_number().over(window))
    return ranked.where(F.col("_rank") <= k).orderBy(*groups, "_rank").drop("_rank").collect()
