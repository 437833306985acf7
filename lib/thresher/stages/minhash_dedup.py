"""`minhash_dedup`: near-duplicate documents by MinHash-LSH, clustered by distributed connected components.

1. One pass over Arrow batches: normalize (FineWeb-style by default), shingle, sign (`num_perm`
   permutations) and hash `bands` bands of `rows` values into bucket keys (thresher.dedup.batches).
2. Documents are numbered in doc_id order, so "smallest node" means "smallest doc_id" everywhere below.
3. Documents sharing a bucket are linked to the bucket's smallest member (thresher.dedup.lsh), optionally
   verified against `threshold`; connected components of those edges are the clusters
   (thresher.dedup.components); the keep policy picks one document per cluster (thresher.dedup.clusters).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, LongType, StringType, StructField, StructType

from thresher.dedup.batches import CLUSTER, RANK, MinHashBatches, MinHashSettings
from thresher.dedup.clusters import CLUSTER_FIELDS, attach, cluster_summary, decide
from thresher.dedup.components import COMPONENT, DRIVER_MAX_EDGES, connected_components
from thresher.dedup.index import (
    BUCKETS,
    EARLIER_RUN,
    EARLIER_RUN_FIELD,
    KEY,
    SKETCH,
    decide_with_index,
    earlier_candidates,
    index_metrics,
    minhash_settings,
    split_known,
)
from thresher.dedup.keep import RANK_TYPE, KeepParams, keep_rank
from thresher.dedup.lsh import BUCKET, NODE, bucket_edges, verify_edges
from thresher.dedup.minhash import pick_bands_rows
from thresher.dedup.normalize import FINEWEB_NORMALIZATION, TextNormalization
from thresher.dedup.shingles import Unit
from thresher.schema import DECISION_FIELDS, DOC_ID, KEEP, TEXT
from thresher.stages.base import GlobalStage, StageContext, StageReport
from thresher.stages.dedup_index import IndexParams, open_index
from thresher.stages.registry import register

NEAR_DUPLICATE = "near_duplicate"


class MinHashDedupParams(KeepParams, IndexParams):
    # Jaccard similarity of shingle sets from which two documents are duplicates: used by `verify`, and to
    # pick bands x rows when both are null.
    threshold: float = Field(default=0.8, gt=0.0, lt=1.0)
    num_perm: int = Field(
        default=112, ge=2, le=1024, description="MinHash permutations per document (at least bands x rows)."
    )
    bands: int | None = Field(default=14, ge=1, description="LSH bands (null: chosen with `rows` from `threshold`).")
    rows: int | None = Field(
        default=8, ge=1, description="Rows per LSH band (null: chosen with `bands` from `threshold`)."
    )
    unit: Unit = Field(default="word", description="Shingles are n-grams of words or of characters.")
    ngram: int = Field(default=5, ge=1, le=100, description="Shingle size in units.")
    normalization: TextNormalization = Field(
        default=FINEWEB_NORMALIZATION,
        description="Differences ignored before shingling (FineWeb's normalization by default).",
    )
    # Check candidate pairs against `threshold` before clustering: exact Jaccard of the shingle sets, the
    # Jaccard estimated from the signatures (cheaper, noisier near the threshold), or none (FineWeb's way:
    # every pair sharing a bucket is a duplicate).
    verify: Literal["exact", "signature", "none"] = "exact"
    seed: int = Field(default=1, description="Seed of the MinHash permutations.")
    # Buckets with more members are joined by broadcast (counted in the stats as oversized_buckets).
    oversized_bucket: int = Field(default=10_000, ge=2)
    max_rounds: int = Field(
        default=100, ge=1, description="Most rounds of the connected-components algorithm before the run fails."
    )
    driver_max_edges: int = Field(
        default=DRIVER_MAX_EDGES,
        ge=0,
        description="Clusters are found on the driver (union-find, 16 bytes of memory per edge) when the "
        "duplicate graph has at most this many edges, else by distributed connected components (0: always).",
    )

    @model_validator(mode="after")
    def _banding(self) -> MinHashDedupParams:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both bands and rows, or neither (then they are picked from threshold)")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm {self.num_perm}")
        return self

    def banding(self) -> tuple[int, int]:
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        # Verification removes false candidates but cannot recover missed ones: then favour recall.
        false_positive_weight = 0.5 if self.verify == "none" else 0.05
        return pick_bands_rows(self.threshold, self.num_perm, false_positive_weight)


@register
class MinHashDedup(GlobalStage):
    """Near duplicates: MinHash-LSH candidates, connected components, one document kept per cluster."""

    id = "minhash_dedup"
    Params = MinHashDedupParams
    params: MinHashDedupParams

    def signal_fields(self) -> list[StructField]:
        # shingles: shingles of the normalized text (0: nothing left, never a duplicate; 1 for documents
        # shorter than ngram, compared as a whole).
        index_fields = [EARLIER_RUN_FIELD] if self.params.index else []
        return [*CLUSTER_FIELDS, StructField("shingles", LongType(), True), *index_fields]

    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        report = StageReport()
        p = self.params
        bands, rows = p.banding()
        settings = MinHashSettings(
            normalization=p.normalization,
            unit=p.unit,
            ngram=p.ngram,
            num_perm=p.num_perm,
            bands=bands,
            rows=rows,
            seed=p.seed,
            with_signature=p.verify == "signature",
            with_shingle_set=p.verify == "exact",
        )
        index = open_index(p, ctx, self.id, "minhash", _index_settings(settings, p.verify))
        base = df.select(DOC_ID, TEXT, keep_rank(df, p, self.id).alias(RANK))
        signed = ctx.materialize(base.mapInArrow(MinHashBatches(settings), _signature_schema(settings)), "signatures")
        # Sorted by doc_id, then numbered: node order is doc_id order, whatever the partitioning.
        narrow = signed.select(DOC_ID, RANK, "units", "shingles", "buckets")
        if index is not None:
            # Documents already in the index are their earlier selves: matched below through their index rows.
            entries = index.entries()
            narrow, known = split_known(narrow, entries)
        nodes = ctx.materialize(narrow.orderBy(DOC_ID).withColumn(NODE, F.monotonically_increasing_id()), "nodes")
        buckets = nodes.select(NODE, F.explode("buckets").alias(BUCKET))
        node_ids, sketches = nodes.select(NODE, DOC_ID), signed
        if index is not None:
            earlier_nodes = ctx.materialize(earlier_candidates(entries, buckets), "earlier_nodes")
            report.metrics["earlier_candidates"] = float(earlier_nodes.count())
            earlier_buckets = earlier_nodes.select(NODE, F.explode(BUCKETS).alias(BUCKET))
            buckets = buckets.unionByName(earlier_buckets.join(buckets.select(BUCKET).distinct(), BUCKET, "left_semi"))
            node_ids = node_ids.unionByName(earlier_nodes.select(NODE, DOC_ID))
            if p.verify != "none":
                column = "signature" if p.verify == "signature" else "shingle_set"
                sketches = signed.select(DOC_ID, column).unionByName(
                    earlier_nodes.select(DOC_ID, F.col(SKETCH).alias(column))
                )
        edges, bucket_stats = bucket_edges(buckets, ctx.scratch_space, p.oversized_bucket, "buckets")
        report.metrics.update(bucket_stats)
        if p.verify != "none":
            edges = ctx.materialize(edges, "candidate_edges")
            report.metrics["candidate_edges"] = float(edges.count())
            edges = verify_edges(edges, node_ids, sketches, ctx.scratch_space, p.verify, p.threshold)
            if index is not None:
                # A document of this run already in the index has two sketches (its own and its index row's).
                edges = edges.distinct()
        labels, graph = connected_components(edges, ctx.scratch_space, "components", p.max_rounds, p.driver_max_edges)
        report.metrics["verified_edges" if p.verify != "none" else "candidate_edges"] = graph["edges"]
        report.metrics["cc_rounds"] = graph["rounds"]
        report.metrics["cc_on_driver"] = graph["on_driver"]
        members = nodes.select(NODE, DOC_ID, RANK, "units", "shingles").join(labels, NODE, "left")
        members = members.select(DOC_ID, F.col(COMPONENT).alias(CLUSTER), RANK, "units", "shingles")
        if index is not None:
            earlier = earlier_nodes.select(NODE, DOC_ID, EARLIER_RUN).join(labels, NODE)
            earlier = earlier.select(DOC_ID, F.col(COMPONENT).alias(CLUSTER), EARLIER_RUN)
            decided = decide_with_index(members, earlier, known, NEAR_DUPLICATE, ["units", "shingles"])
            decisions = ctx.materialize(decided, "decisions")
            new_kept = decisions.where(F.col(KEEP) & F.col(EARLIER_RUN).isNull() & (F.col("shingles") > 0))
            index.stage_kept(_index_rows(signed.join(new_kept.select(DOC_ID), DOC_ID, "left_semi"), p.verify))
            return self._summarize(df, decisions, report, bands, rows, index_metrics())
        decisions = ctx.materialize(decide(members, NEAR_DUPLICATE, ["units", "shingles"]), "decisions")
        return self._summarize(df, decisions, report, bands, rows, [])

    def _summarize(
        self, df: DataFrame, decisions: DataFrame, report: StageReport, bands: int, rows: int, extra: list[Column]
    ) -> tuple[DataFrame, StageReport]:
        metrics, details = cluster_summary(
            decisions,
            F.count(F.when(F.col("shingles") == 0, 1)).alias("docs_without_shingles"),
            F.count(F.when((F.col("units") > 0) & (F.col("units") < self.params.ngram), 1)).alias("short_docs"),
            *extra,
        )
        report.metrics.update(
            {**metrics, "components": metrics["clusters"], "bands": float(bands), "rows": float(rows)}
        )
        report.details.update(details)
        fields = [f.name for f in (*DECISION_FIELDS, *CLUSTER_FIELDS)] + ["shingles"]
        if self.params.index is not None:
            fields.append(EARLIER_RUN)
        return attach(df, decisions, self.id, fields), report


def _index_settings(settings: MinHashSettings, verify: str) -> dict[str, Any]:
    """What the band keys and the verification sketches of an index depend on (not the threshold: it applies to
    the stored sketches)."""
    keys = {
        "normalization": settings.normalization.model_dump(mode="json"),
        "unit": settings.unit,
        "ngram": settings.ngram,
        "num_perm": settings.num_perm,
        "bands": settings.bands,
        "rows": settings.rows,
        "seed": settings.seed,
    }
    return minhash_settings(keys, verify)


def _index_rows(signed: DataFrame, verify: str) -> DataFrame:
    """doc_id, key, buckets, sketch of signed documents, for the index."""
    column = {"exact": "shingle_set", "signature": "signature"}.get(verify)
    sketch = F.col(column) if column else F.lit(None).cast("array<bigint>")
    return signed.select(
        DOC_ID, F.lit(None).cast("string").alias(KEY), F.col("buckets").alias(BUCKETS), sketch.alias(SKETCH)
    )


def _signature_schema(settings: MinHashSettings) -> StructType:
    longs = ArrayType(LongType(), True)
    fields = [
        StructField(DOC_ID, StringType(), False),
        StructField(RANK, RANK_TYPE, True),
        StructField("units", LongType(), True),
        StructField("shingles", LongType(), True),
        StructField("buckets", longs, True),
    ]
    if settings.with_signature:
        fields.append(StructField("signature", longs, True))
    if settings.with_shingle_set:
        fields.append(StructField("shingle_set", longs, True))
    return StructType(fields)
