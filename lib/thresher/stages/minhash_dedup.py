"""`minhash_dedup`: near-duplicate documents by MinHash-LSH, clustered by distributed connected components.

1. One pass over Arrow batches: normalize (FineWeb-style by default), shingle, sign (`num_perm`
   permutations) and hash `bands` bands of `rows` values into bucket keys (thresher.dedup.batches).
2. Documents are numbered in doc_id order, so "smallest node" means "smallest doc_id" everywhere below.
3. Documents sharing a bucket are linked to the bucket's smallest member (thresher.dedup.lsh), optionally
   verified against `threshold`; connected components of those edges are the clusters
   (thresher.dedup.components); the keep policy picks one document per cluster (thresher.dedup.clusters).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, LongType, StringType, StructField, StructType

from thresher.dedup.batches import CLUSTER, RANK, MinHashBatches, MinHashSettings
from thresher.dedup.clusters import CLUSTER_FIELDS, attach, cluster_summary, decide
from thresher.dedup.components import COMPONENT, connected_components
from thresher.dedup.keep import RANK_TYPE, KeepParams, keep_rank
from thresher.dedup.lsh import BUCKET, NODE, bucket_edges, verify_edges
from thresher.dedup.minhash import pick_bands_rows
from thresher.dedup.normalize import FINEWEB_NORMALIZATION, TextNormalization
from thresher.dedup.shingles import Unit
from thresher.schema import DECISION_FIELDS, DOC_ID, TEXT
from thresher.stages.base import GlobalStage, StageContext, StageReport
from thresher.stages.registry import register

NEAR_DUPLICATE = "near_duplicate"


class MinHashDedupParams(KeepParams):
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
        return [*CLUSTER_FIELDS, StructField("shingles", LongType(), True)]

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
        base = df.select(DOC_ID, TEXT, keep_rank(df, p, self.id).alias(RANK))
        signed = ctx.materialize(base.mapInArrow(MinHashBatches(settings), _signature_schema(settings)), "signatures")
        # Sorted by doc_id, then numbered: node order is doc_id order, whatever the partitioning.
        narrow = signed.select(DOC_ID, RANK, "units", "shingles", "buckets")
        nodes = ctx.materialize(narrow.orderBy(DOC_ID).withColumn(NODE, F.monotonically_increasing_id()), "nodes")
        buckets = nodes.select(NODE, F.explode("buckets").alias(BUCKET))
        edges, bucket_stats = bucket_edges(buckets, ctx.scratch_space, p.oversized_bucket, "buckets")
        report.metrics.update(bucket_stats)
        if p.verify != "none":
            edges = ctx.materialize(edges, "candidate_edges")
            report.metrics["candidate_edges"] = float(edges.count())
            edges = verify_edges(edges, nodes, signed, ctx.scratch_space, p.verify, p.threshold)
        labels, graph = connected_components(edges, ctx.scratch_space, "components", p.max_rounds)
        report.metrics["verified_edges" if p.verify != "none" else "candidate_edges"] = graph["edges"]
        report.metrics["cc_rounds"] = graph["rounds"]
        members = nodes.select(NODE, DOC_ID, RANK, "units", "shingles").join(labels, NODE, "left")
        members = members.select(DOC_ID, F.col(COMPONENT).alias(CLUSTER), RANK, "units", "shingles")
        decisions = ctx.materialize(decide(members, NEAR_DUPLICATE, ["units", "shingles"]), "decisions")
        metrics, details = cluster_summary(
            decisions,
            F.count(F.when(F.col("shingles") == 0, 1)).alias("docs_without_shingles"),
            F.count(F.when((F.col("units") > 0) & (F.col("units") < p.ngram), 1)).alias("short_docs"),
        )
        report.metrics.update(
            {**metrics, "components": metrics["clusters"], "bands": float(bands), "rows": float(rows)}
        )
        report.details.update(details)
        fields = [f.name for f in (*DECISION_FIELDS, *CLUSTER_FIELDS)] + ["shingles"]
        return attach(df, decisions, self.id, fields), report


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
