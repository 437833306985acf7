"""How much of a total to take from each group: weighted water-filling, flat or down a cluster tree.

`water_fill` splits a total across groups in proportion to their weights without giving any group more than
it has; what a small group cannot use goes to the others, again by weight. Budgets use it for mixture
weights (per source / language), balanced sampling for equal shares per cluster at every level of the tree.
"""

from __future__ import annotations

import numpy as np


def water_fill(capacity: np.ndarray, weights: np.ndarray, total: float, integer: bool = False) -> np.ndarray:
    """Per-group quotas q with q <= capacity, sum(q) == min(total, capacity of groups with weight > 0), and
    q proportional to weight among groups that are not full. `integer` rounds by largest remainder (ties to
    the lower index), keeping the sum exact."""
    capacity = np.asarray(capacity, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if capacity.shape != weights.shape:
        raise ValueError("capacity and weights differ in length")
    if (weights < 0).any() or (capacity < 0).any():
        raise ValueError("capacities and weights must be non-negative")
    quota = np.zeros_like(capacity)
    open_ = (weights > 0) & (capacity > 0)
    remaining = min(float(total), float(capacity[open_].sum()))
    while remaining > 1e-9 and open_.any():
        share = remaining * weights / weights[open_].sum()
        share[~open_] = 0.0
        room = capacity - quota
        full = open_ & (share >= room)
        if not full.any():
            quota += share
            break
        # Groups that cannot take their share are filled; the rest is split again among the others.
        quota[full] = capacity[full]
        remaining -= float(room[full].sum())
        open_ &= ~full
    if not integer:
        return quota
    return _round_preserving_sum(quota, capacity, round(min(float(total), float(quota.sum()))))


def _round_preserving_sum(quota: np.ndarray, capacity: np.ndarray, target: int) -> np.ndarray:
    floors = np.floor(quota + 1e-9)
    short = int(target - floors.sum())
    if short > 0:
        fraction = np.where(floors < capacity, quota - floors, -1.0)
        order = np.lexsort((np.arange(len(quota)), -fraction))
        floors[order[:short]] += 1
    return floors.astype(np.int64)


def tree_quotas(leaf_sizes: np.ndarray, parents: list[np.ndarray], total: int) -> np.ndarray:
    """Balanced hierarchical sampling (Vo et al. 2024): the total is split equally among the top-level
    clusters (water-filled by their sizes), each cluster's share equally among its children, down to the
    leaves. `parents[l][i]` is the parent of node i of level l (level 0 = leaves). Returns leaf quotas."""
    sizes = [np.asarray(leaf_sizes, dtype=np.int64)]
    for parent in parents:
        sizes.append(np.bincount(parent, weights=sizes[-1], minlength=int(parent.max(initial=-1)) + 1))
    top = sizes[-1]
    quota = water_fill(top, np.ones(len(top)), total, integer=True)
    for level in range(len(parents) - 1, -1, -1):
        parent = parents[level]
        children = sizes[level]
        child_quota = np.zeros(len(children), dtype=np.int64)
        for node, node_quota in enumerate(quota):
            members = np.flatnonzero(parent == node)
            if members.size and node_quota > 0:
                child_quota[members] = water_fill(
                    children[members], np.ones(members.size), int(node_quota), integer=True
                )
        quota = child_quota
    return quota
