"""Connected components of a graph given as an edge list, computed with DataFrames.

Alternating large-star / small-star (Kiveris et al., "Connected Components in MapReduce and Beyond", 2014):
every round is two aggregations and two joins, and the edge set is written to scratch Parquet after each
round (`StageContext.materialize`) to cut the lineage and make the round's output stable under task retries.
The fixed point is a forest of stars, each centred on the smallest node of its component; it is detected
exactly with one aggregation. Nodes are longs; edges are kept as (a, b) with a > b. No edge or node is ever
collected to the driver, and the result depends only on the graph, not on partitioning or task order.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from thresher.errors import ThresherError
from thresher.stages.base import StageContext

NODE = "node"
COMPONENT = "component"
_A, _B, _MIN = "a", "b", "m"


def connected_components(
    edges: DataFrame, ctx: StageContext, name: str, max_rounds: int = 100
) -> tuple[DataFrame, dict[str, float]]:
    """(node, component) for every node of `edges` (columns a, b), component = smallest node of its
    component; and stats: distinct edges, rounds. Nodes without edges are not listed."""
    current = ctx.materialize(_oriented(edges), f"{name}_0")
    stats = {"edges": float(current.count())}
    rounds = 0
    while not _is_star_forest(current):
        if rounds == max_rounds:
            raise ThresherError(f"{name}: connected components did not converge in {max_rounds} rounds")
        rounds += 1
        current = ctx.materialize(_small_star(_large_star(current)), f"{name}_{rounds}")
    leaves = current.select(F.col(_A).alias(NODE), F.col(_B).alias(COMPONENT))
    centres = current.select(F.col(_B).alias(NODE), F.col(_B).alias(COMPONENT)).distinct()
    stats["rounds"] = float(rounds)
    return leaves.unionByName(centres), stats


def _oriented(edges: DataFrame) -> DataFrame:
    a, b = F.col(_A), F.col(_B)
    return edges.select(F.greatest(a, b).alias(_A), F.least(a, b).alias(_B)).where(F.col(_A) != F.col(_B)).distinct()


def _smallest_neighbour_below(edges: DataFrame) -> DataFrame:
    """(a, m): for every node with a smaller neighbour, the smallest one."""
    return edges.groupBy(_A).agg(F.min(_B).alias(_MIN))


def _large_star(edges: DataFrame) -> DataFrame:
    """Every node hands its larger neighbours over to the smallest node of its closed neighbourhood."""
    smallest = _smallest_neighbour_below(edges).withColumnRenamed(_A, _B)
    joined = edges.join(smallest, _B, "left")
    return joined.select(F.col(_A), F.coalesce(F.col(_MIN), F.col(_B)).alias(_B)).distinct()


def _small_star(edges: DataFrame) -> DataFrame:
    """Every node links itself and its smaller neighbours to the smallest of those neighbours."""
    smallest = _smallest_neighbour_below(edges)
    neighbours = (
        edges.join(smallest, _A).where(F.col(_B) != F.col(_MIN)).select(F.col(_B).alias(_A), F.col(_MIN).alias(_B))
    )
    return neighbours.unionByName(smallest.select(F.col(_A), F.col(_MIN).alias(_B))).distinct()


def _is_star_forest(edges: DataFrame) -> bool:
    """True when every node has at most one smaller neighbour and no node is both a leaf and a centre:
    each component is then a star around its smallest node (the algorithm's fixed point)."""
    roles = edges.select(F.col(_A).alias(NODE), F.lit(1).alias("up"), F.lit(0).alias("down")).unionByName(
        edges.select(F.col(_B).alias(NODE), F.lit(0).alias("up"), F.lit(1).alias("down"))
    )
    per_node = roles.groupBy(NODE).agg(F.sum("up").alias("up"), F.max("down").alias("down"))
    return per_node.where((F.col("up") > 1) | ((F.col("up") == 1) & (F.col("down") == 1))).isEmpty()
