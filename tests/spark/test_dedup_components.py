"""Distributed connected components (large-star / small-star) on hand-made graphs."""

from __future__ import annotations

import itertools

import pytest

from thresher.core.scratch import Scratch
from thresher.dedup.components import connected_components

pytestmark = pytest.mark.spark


def test_components_are_labelled_by_their_smallest_node(spark, tmp_path):
    edges = []
    # A path through 10 nodes in scrambled order: needs several rounds.
    path = [105, 102, 109, 100, 107, 103, 108, 101, 106, 104]
    edges += [(max(a, b), min(a, b)) for a, b in itertools.pairwise(path)]
    # A star around 7 plus a cycle 20-21-22-23-20 attached to it by 22-8.
    edges += [(8, 7), (9, 7), (10, 7), (21, 20), (22, 21), (23, 22), (23, 20), (22, 8)]
    # Two separate pairs and a node linked twice to the same one.
    edges += [(51, 50), (61, 60), (62, 60)]
    frame = spark.createDataFrame(edges, "a long, b long")
    labels, stats = connected_components(frame, Scratch(spark, str(tmp_path)), "cc")
    components = {r["node"]: r["component"] for r in labels.collect()}
    assert labels.count() == len(components)  # one row per node
    assert components == {
        **dict.fromkeys(path, 100),
        **dict.fromkeys([7, 8, 9, 10, 20, 21, 22, 23], 7),
        50: 50,
        51: 50,
        60: 60,
        61: 60,
        62: 60,
    }
    assert stats["edges"] == len(edges)
    assert stats["rounds"] >= 2


def test_a_star_forest_needs_no_round(spark, tmp_path):
    frame = spark.createDataFrame([(2, 1), (3, 1), (5, 4)], "a long, b long")
    labels, stats = connected_components(frame, Scratch(spark, str(tmp_path)), "cc")
    assert stats == {"edges": 3.0, "rounds": 0.0}
    assert sorted((r["node"], r["component"]) for r in labels.collect()) == [(1, 1), (2, 1), (3, 1), (4, 4), (5, 4)]
