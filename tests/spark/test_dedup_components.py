"""Connected components on hand-made and random graphs: distributed (large-star / small-star) and on the
driver (union-find), which must agree."""

from __future__ import annotations

import itertools
import random

import pytest

from thresher.core.scratch import Scratch
from thresher.dedup.components import connected_components

pytestmark = pytest.mark.spark


_PATH = [105, 102, 109, 100, 107, 103, 108, 101, 106, 104]


def _hand_made_edges() -> list[tuple[int, int]]:
    edges = []
    # A path through 10 nodes in scrambled order: needs several rounds.
    edges += [(max(a, b), min(a, b)) for a, b in itertools.pairwise(_PATH)]
    # A star around 7 plus a cycle 20-21-22-23-20 attached to it by 22-8.
    edges += [(8, 7), (9, 7), (10, 7), (21, 20), (22, 21), (23, 22), (23, 20), (22, 8)]
    # Two separate pairs and a node linked twice to the same one.
    edges += [(51, 50), (61, 60), (62, 60)]
    return edges


@pytest.mark.parametrize("driver_max_edges", [0, 1000])
def test_components_are_labelled_by_their_smallest_node(spark, tmp_path, driver_max_edges):
    edges = _hand_made_edges()
    frame = spark.createDataFrame(edges, "a long, b long")
    labels, stats = connected_components(frame, Scratch(spark, str(tmp_path)), "cc", 100, driver_max_edges)
    components = {r["node"]: r["component"] for r in labels.collect()}
    assert labels.count() == len(components)  # one row per node
    assert components == {
        **dict.fromkeys(_PATH, 100),
        **dict.fromkeys([7, 8, 9, 10, 20, 21, 22, 23], 7),
        50: 50,
        51: 50,
        60: 60,
        61: 60,
        62: 60,
    }
    assert stats["edges"] == len(edges)
    if driver_max_edges:
        assert stats["on_driver"] == 1 and stats["rounds"] == 0
    else:
        assert stats["on_driver"] == 0 and stats["rounds"] >= 2


def test_a_star_forest_needs_no_round(spark, tmp_path):
    frame = spark.createDataFrame([(2, 1), (3, 1), (5, 4)], "a long, b long")
    # One edge over the driver's limit: the distributed algorithm.
    labels, stats = connected_components(frame, Scratch(spark, str(tmp_path)), "cc", driver_max_edges=2)
    assert stats == {"edges": 3.0, "rounds": 0.0, "on_driver": 0.0}
    assert sorted((r["node"], r["component"]) for r in labels.collect()) == [(1, 1), (2, 1), (3, 1), (4, 4), (5, 4)]


def test_the_driver_and_the_cluster_agree_on_a_random_graph(spark, tmp_path):
    rng = random.Random(7)
    # Chains, stars and random links among 3,000 of 1e12 possible node ids: components of every shape.
    ids = sorted(rng.sample(range(10**12), 3000))
    edges = {(max(a, b), min(a, b)) for a, b in itertools.pairwise(rng.sample(ids[:800], 800))}
    edges |= {(ids[rng.randrange(800, 3000)], ids[rng.randrange(800, 3000)]) for _ in range(1500)}
    edges = sorted((a, b) for a, b in edges if a > b)
    frame = spark.createDataFrame(edges, "a long, b long")
    results = []
    for limit in (0, len(edges)):
        labels, stats = connected_components(frame, Scratch(spark, str(tmp_path / str(limit))), "cc", 100, limit)
        assert stats["on_driver"] == (1 if limit else 0)
        results.append(sorted((r["node"], r["component"]) for r in labels.collect()))
    assert results[0] == results[1]


def test_an_empty_graph_has_no_component(spark, tmp_path):
    frame = spark.createDataFrame([], "a long, b long")
    labels, stats = connected_components(frame, Scratch(spark, str(tmp_path)), "cc")
    assert labels.count() == 0 and stats["edges"] == 0
