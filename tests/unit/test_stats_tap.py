"""The pieces of statistics measured in the pass (thresher.stats_tap), without Spark. That they give the same
rows as a re-read of the checkpoint is tested on real runs in tests/spark/test_stats_and_report.py."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from thresher.conf import load_config
from thresher.plan import make_plan
from thresher.stages.fused import FusedPass, count_words
from thresher.stats_fused import segment_spec
from thresher.stats_tap import PartialsByPartition, StatsTap, bin_keys, digest_of, quantiles_like_spark


def test_quantiles_pick_the_element_of_rank_ceil_q_n():
    distinct = np.array([1.0, 2.0, 5.0, 9.0])
    counts = np.array([1, 3, 4, 2])  # sorted values: 1 2 2 2 5 5 5 5 9 9
    assert quantiles_like_spark(distinct, counts, [0.0, 0.1, 0.25, 0.5, 0.75, 0.95, 1.0], 10_000) == [
        1.0,
        1.0,
        2.0,
        5.0,
        5.0,
        9.0,
        9.0,
    ]
    assert quantiles_like_spark(np.zeros(0), np.zeros(0, dtype=np.int64), [0.5], 10_000) == []


def test_bin_keys_close_the_last_bin_and_count_outliers():
    keys = bin_keys(np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 2.5]), [0.0, 1.0, 2.0])
    assert keys.tolist() == [-1, 0, 0, 1, 1, 2]


def test_a_partition_reported_twice_counts_once():
    param = PartialsByPartition()
    value = param.zero({})
    for report in ({0: "first try"}, {1: "b"}, {0: "retry"}):
        value = param.addInPlace(value, report)
    assert value == {0: "retry", 1: "b"}


def test_digest_is_order_free_and_sees_a_duplicate():
    assert digest_of(["a", "b", "c"]) == digest_of(["c", "a", "b"])
    assert digest_of(["a", "b", "c"]) != digest_of(["a", "a", "c"])


class _Collect:
    def __init__(self) -> None:
        self.value: dict = {}

    def add(self, report: dict) -> None:
        self.value.update(report)


def test_the_tap_measures_what_the_fused_pass_writes():
    config = load_config(
        data={
            "run": {"output": "/tmp/unused", "mode": "filter"},
            "input": {"path": "/tmp/unused.jsonl"},
            "stages": {"normalize": {}, "length": {"min_words": 3}},
        }
    )
    segment = make_plan(config, "unused").segments[0]
    texts = [("a\\x07 word " * (i % 5)) + "end" for i in range(40)]
    batch = pa.RecordBatch.from_pylist([{"doc_id": f"d{i}", "text": t} for i, t in enumerate(texts)])
    fused = FusedPass(list(segment.stages), "filter")
    spec = segment_spec(segment, "filter", [], None)
    collected = _Collect()
    written = list(StatsTap(spec, collected, fused)([batch, batch]))
    merged = spec.merge(collected.value)
    rows = [row for out in written for row in out.to_pylist()]
    assert merged["rows"] == len(rows) == 80
    kept = [r for r in rows if r["length"] and r["length"]["keep"]]
    figures = merged["stages"]["length"]
    assert figures["in"] == sum(1 for r in rows if r["length"] is not None)
    assert figures["kept"] == len(kept) > 0
    assert figures["words_out"] == sum(count_words(r["text"]) for r in kept)
    assert figures["chars_out"] == sum(len(r["text"]) for r in kept)
    dropped = figures["in"] - figures["kept"]
    assert sum(n for n, _ in merged["tallies"][("reason", "length", "")].values()) == dropped
    assert merged["ids_passed"] == digest_of(r["doc_id"] for r in kept)
