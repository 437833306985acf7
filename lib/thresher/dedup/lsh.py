"""LSH banding with DataFrames: documents sharing a band bucket become candidate duplicates.

Candidate edges are stars: every member of a bucket is linked to the bucket's smallest node, so a bucket of
k documents yields k - 1 edges instead of k(k-1)/2 pairs. Bucket sizes and smallest members come from one
aggregation, whose map-side combine collapses even a bucket of millions of documents. Members are then
joined to their bucket's smallest node; oversized buckets (more than `oversized` members, e.g. thousands of
copies of one page) are joined by broadcast instead, so no task receives a whole hot bucket.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from thresher.core.scratch import Scratch
from thresher.dedup.columns import NODE

BUCKET = "bucket"


def bucket_edges(rows: DataFrame, scratch: Scratch, oversized: int, name: str) -> tuple[DataFrame, dict[str, float]]:
    """Star edges (a = member > b = smallest member, each once) of the buckets in `rows` (node, bucket), and
    stats."""
    shared = rows.groupBy(BUCKET).agg(F.count(F.lit(1)).alias("size"), F.min(NODE).alias("root"))
    shared = scratch.materialize(shared.where(F.col("size") > 1), name)
    size = F.col("size")
    stats = shared.agg(
        F.count(F.lit(1)).alias("shared_buckets"),
        F.count(F.when(size > oversized, 1)).alias("oversized_buckets"),
        F.coalesce(F.sum(F.when(size > oversized, size)), F.lit(0)).alias("oversized_bucket_members"),
        F.coalesce(F.max(size), F.lit(0)).alias("largest_bucket"),
        F.coalesce(F.sum(size * (size - 1) / 2), F.lit(0)).alias("candidate_pairs"),
    ).first()
    normal = shared.where(size <= oversized).select(BUCKET, "root")
    edges = rows.join(normal, BUCKET)
    if stats["oversized_buckets"]:
        hot = shared.where(size > oversized).select(BUCKET, "root")
        edges = edges.unionByName(rows.join(F.broadcast(hot), BUCKET))
    edges = edges.where(F.col(NODE) != F.col("root")).select(F.col(NODE).alias("a"), F.col("root").alias("b"))
    return edges.distinct(), {k: float(v) for k, v in stats.asDict().items()}


def verify_edges(
    edges: DataFrame, nodes: DataFrame, sketches: DataFrame, scratch: Scratch, method: str, threshold: float
) -> DataFrame:
    """The edges whose endpoints are similar enough, by estimated Jaccard of the signatures
    (`method="signature"`: `sketches` has doc_id, signature) or exact Jaccard of the shingle sets
    (`method="exact"`: doc_id, shingle_set). `nodes` maps node -> doc_id.

    Only the sketches of documents that have an edge are read into the joins (one semi-join over all the
    sketches), and they are written to scratch once, since each edge needs two of them."""
    column = "signature" if method == "signature" else "shingle_set"
    ends = edges.select(F.col("a").alias(NODE)).union(edges.select(F.col("b").alias(NODE))).distinct()
    ends = ends.join(nodes.select(NODE, "doc_id"), NODE)
    needed = scratch.materialize(
        sketches.select("doc_id", column).join(ends, "doc_id").select(NODE, column), "sketches"
    )
    left = needed.select(F.col(NODE).alias("a"), F.col(column).alias("x"))
    right = needed.select(F.col(NODE).alias("b"), F.col(column).alias("y"))
    pairs = edges.join(left, "a").join(right, "b")
    x, y = F.col("x"), F.col("y")
    if method == "signature":
        agreeing = F.aggregate(F.zip_with(x, y, lambda p, q: (p == q).cast("int")), F.lit(0), lambda acc, v: acc + v)
        similarity = agreeing / F.size(x)
    else:
        similarity = F.size(F.array_intersect(x, y)) / F.size(F.array_union(x, y))
    return pairs.where(similarity >= F.lit(threshold)).select("a", "b")
