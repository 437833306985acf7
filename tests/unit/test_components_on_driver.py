"""Union-find on the driver (thresher.dedup.components.smallest_node_components) against a breadth-first search."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict, deque

import numpy as np
import pytest

from thresher.dedup.components import smallest_node_components


def _by_search(edges: list[tuple[int, int]]) -> dict[int, int]:
    neighbours = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    label: dict[int, int] = {}
    for start in sorted(neighbours):
        if start in label:
            continue
        label[start] = start
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for other in neighbours[node]:
                if other not in label:
                    label[other] = start
                    queue.append(other)
    return label


def _solve(edges: list[tuple[int, int]]) -> dict[int, int]:
    a = np.array([e[0] for e in edges], dtype=np.int64)
    b = np.array([e[1] for e in edges], dtype=np.int64)
    nodes, components = smallest_node_components(a, b)
    assert list(nodes) == sorted(nodes) and len(set(nodes.tolist())) == len(nodes)
    return dict(zip(nodes.tolist(), components.tolist(), strict=True))


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_match_a_breadth_first_search(seed):
    rng = random.Random(seed)
    ids = [rng.randrange(-(2**62), 2**62) for _ in range(rng.choice([2, 10, 200, 2000]))]
    edges = [(rng.choice(ids), rng.choice(ids)) for _ in range(rng.randint(1, 3 * len(ids)))]
    assert _solve(edges) == _by_search(edges)


def test_long_paths_in_either_order_and_scrambled():
    # The worst shapes for pointer jumping: a path whose nodes decrease, increase or are shuffled along it.
    rng = random.Random(3)
    for order in (list(range(5000)), list(range(5000, 0, -1)), rng.sample(range(5000), 5000)):
        edges = list(itertools.pairwise(order))
        solved = _solve(edges)
        assert set(solved.values()) == {min(order)} and len(solved) == len(order)


def test_self_loops_repeats_and_no_edges():
    assert _solve([(4, 4), (4, 4), (9, 4), (4, 9)]) == {4: 4, 9: 4}
    nodes, components = smallest_node_components(np.array([], np.int64), np.array([], np.int64))
    assert len(nodes) == 0 and len(components) == 0
