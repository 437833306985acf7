"""Histogram bins chosen from quantiles and thresholds."""

from __future__ import annotations

import pytest

from thresher.signal_bins import MAX_BINS, choose_bins


def _q(minimum: float, p1: float, p99: float, maximum: float) -> dict[float, float]:
    return {0.0: minimum, 0.01: p1, 0.99: p99, 1.0: maximum}


def test_small_integer_range_gets_one_bin_per_value():
    bins = choose_bins(_q(0, 0, 3, 7), integral=True)
    assert bins.edges == tuple(float(v) for v in range(9)) and bins.scale == "linear"


def test_wide_positive_integers_get_log_bins_with_the_threshold_as_an_edge():
    bins = choose_bins(_q(1, 3, 6333, 20191), integral=True, thresholds=[50, 100_000])
    assert bins.scale == "log"
    assert 50.0 in bins.edges  # the threshold inside the data is an edge; the one beyond the data is not
    assert bins.edges[0] == 1.0 and bins.edges[-1] == 6334.0  # 1%..99% (the minimum is close), last bin closed
    assert list(bins.edges) == sorted(set(bins.edges))
    assert bins.count <= MAX_BINS
    assert all(e.is_integer() for e in bins.edges)


def test_counts_starting_at_zero_keep_a_zero_bin_on_a_log_scale():
    bins = choose_bins(_q(0, 0, 5000, 9000), integral=True)
    assert bins.scale == "log" and bins.edges[:2] == (0.0, 1.0)


def test_probabilities_stay_linear_and_even():
    bins = choose_bins(_q(0.001, 0.002, 0.9, 0.95), integral=False, thresholds=[None, 0.5])
    assert bins.scale == "linear"
    assert 0.5 in bins.edges
    widths = [b - a for a, b in zip(bins.edges, bins.edges[1:], strict=False)]
    assert max(widths) < 2 * min(widths)  # the threshold moved an edge instead of cutting a sliver


def test_far_outliers_stay_outside_the_bins():
    bins = choose_bins(_q(-1000.0, 0.0, 10.0, 10.5), integral=False)
    assert bins.edges[0] == 0.0 and bins.edges[-1] == 10.5


@pytest.mark.parametrize(("integral", "edges"), [(True, (2.0, 3.0)), (False, (1.9, 2.1))])
def test_a_constant_signal_gets_one_bin_around_it(integral, edges):
    bins = choose_bins(_q(2, 2, 2, 2), integral=integral)
    assert bins.edges == pytest.approx(edges)


def test_thresholds_close_together_both_become_edges():
    bins = choose_bins(_q(0, 0, 3, 3), integral=True, thresholds=[1.5, 1.6])
    assert {1.5, 1.6} <= set(bins.edges)
    assert all(a < b for a, b in zip(bins.edges, bins.edges[1:], strict=False))
