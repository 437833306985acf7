"""Connected components of a graph given as an edge list, computed with DataFrames.

Alternating large-star / small-star (Kiveris et al., "Connected Components in MapReduce and Beyond", 2014):
every round is two aggregations and two joins, and the edge set is written to scratch Parquet after each
round (`Scratch.materialize`) to cut the lineage and make the round's output stable under task retries.
The fixed point is a forest of stars, each centred on the smallest node of its component; it is detected
exactly with one aggregation. Nodes are longs; edges are kept as (a, b) with a > b.

A graph of at most `driver_max_edges` edges (a few million: 16 bytes each) is solved on the driver instead, by
union-find in numpy (`smallest_node_components`): each round of the distributed algorithm is about ten small
Spark jobs of fixed cost, and near-duplicate graphs of millions of documents have far fewer edges than nodes.
Both ways give the same labels; the result depends only on the graph, not on partitioning or task order.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from thresher.core.scratch import Scratch
from thresher.dedup.columns import NODE
from thresher.errors import ThresherError

COMPONENT = "component"
_A, _B, _MIN = "a", "b", "m"
# Graphs with more edges are solved by the distributed algorithm.
DRIVER_MAX_EDGES = 4_000_000
log = logging.getLogger(__name__)


def connected_components(
    edges: DataFrame, scratch: Scratch, name: str, max_rounds: int = 100, driver_max_edges: int = DRIVER_MAX_EDGES
) -> tuple[DataFrame, dict[str, float]]:
    """(node, component) for every node of `edges`, component = smallest node of its component; and stats:
    edges, rounds (of the distributed algorithm), on_driver (1 when solved on the driver). `edges` has columns
    a > b, without repeated rows. Nodes without edges are not listed."""
    current = scratch.materialize(edges.select(_A, _B), f"{name}_0")
    if driver_max_edges > 0:
        edge_count = current.count()
        if edge_count <= driver_max_edges:
            return _on_driver(current, scratch, name), {"edges": float(edge_count), "rounds": 0.0, "on_driver": 1.0}
    converged, edge_count = _star_forest_check(current)
    stats = {"edges": float(edge_count), "on_driver": 0.0}
    rounds = 0
    while not converged:
        if rounds == max_rounds:
            raise ThresherError(f"{name}: connected components did not converge in {max_rounds} rounds")
        rounds += 1
        current = scratch.materialize(_small_star(_large_star(current)), f"{name}_{rounds}")
        converged, edge_count = _star_forest_check(current)
        log.info("%s: round %d, %d edges%s", name, rounds, edge_count, " (converged)" if converged else "")
    leaves = current.select(F.col(_A).alias(NODE), F.col(_B).alias(COMPONENT))
    centres = current.select(F.col(_B).alias(NODE), F.col(_B).alias(COMPONENT)).distinct()
    stats["rounds"] = float(rounds)
    return leaves.unionByName(centres), stats


def _on_driver(edges: DataFrame, scratch: Scratch, name: str) -> DataFrame:
    table = edges.toArrow()
    nodes, components = smallest_node_components(
        table.column(_A).to_numpy().astype(np.int64), table.column(_B).to_numpy().astype(np.int64)
    )
    labels = pa.table({NODE: pa.array(nodes, pa.int64()), COMPONENT: pa.array(components, pa.int64())})
    # Written to scratch like every round's edges: the joins that follow read files, not a plan holding the data.
    return scratch.materialize(scratch.spark.createDataFrame(labels), f"{name}_labels")


def smallest_node_components(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, component of each) of the graph with edges a[i] - b[i]: every node that has an edge, ascending,
    labelled with the smallest node of its component.

    Union-find, vectorized: every round hooks the larger root of each edge under the smaller one, then jumps
    pointers until every node points at its root. A node's parent is never larger than the node, so roots are
    the smallest members of their components and no cycle can form; each round removes at least one root."""
    nodes, index = np.unique(np.concatenate([a, b]), return_inverse=True)
    left, right = index[: len(a)], index[len(a) :]
    parent = np.arange(len(nodes))
    while True:
        root_left, root_right = parent[left], parent[right]
        apart = root_left != root_right
        if not apart.any():
            return nodes, nodes[parent]
        root_left, root_right = root_left[apart], root_right[apart]
        np.minimum.at(parent, np.maximum(root_left, root_right), np.minimum(root_left, root_right))
        while True:
            grandparent = parent[parent]
            if np.array_equal(grandparent, parent):
                break
            parent = grandparent


def _smallest_neighbour_below(edges: DataFrame) -> DataFrame:
    """(a, m): for every node with a smaller neighbour, the smallest one."""
    return edges.groupBy(_A).agg(F.min(_B).alias(_MIN))


def _large_star(edges: DataFrame) -> DataFrame:
    """Every node hands its larger neighbours over to the smallest node of its closed neighbourhood."""
    smallest = _smallest_neighbour_below(edges).withColumnRenamed(_A, _B)
    joined = edges.join(smallest, _B, "left")
    # Repeated edges are harmless to the small-star step that follows, which removes them.
    return joined.select(F.col(_A), F.coalesce(F.col(_MIN), F.col(_B)).alias(_B))


def _small_star(edges: DataFrame) -> DataFrame:
    """Every node links itself and its smaller neighbours to the smallest of those neighbours."""
    smallest = _smallest_neighbour_below(edges)
    neighbours = (
        edges.join(smallest, _A).where(F.col(_B) != F.col(_MIN)).select(F.col(_B).alias(_A), F.col(_MIN).alias(_B))
    )
    return neighbours.unionByName(smallest.select(F.col(_A), F.col(_MIN).alias(_B))).distinct()


def _star_forest_check(edges: DataFrame) -> tuple[bool, int]:
    """(whether every node has at most one smaller neighbour and no node is both a leaf and a centre, i.e.
    each component is a star around its smallest node: the algorithm's fixed point; number of edges)."""
    roles = edges.select(F.col(_A).alias(NODE), F.lit(1).alias("up"), F.lit(0).alias("down")).unionByName(
        edges.select(F.col(_B).alias(NODE), F.lit(0).alias("up"), F.lit(1).alias("down"))
    )
    per_node = roles.groupBy(NODE).agg(F.sum("up").alias("up"), F.max("down").alias("down"))
    violation = (F.col("up") > 1) | ((F.col("up") == 1) & (F.col("down") == 1))
    row = per_node.agg(F.count(F.when(violation, 1)).alias("violations"), F.sum("up").alias("edges")).first()
    return row["violations"] == 0, int(row["edges"] or 0)
