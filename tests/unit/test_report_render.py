"""Report pages rendered from hand-made run data, without Spark: sections, escaping, charts, comparison logic."""

from __future__ import annotations

import json
import re
from typing import Any

from thresher.progress import progress_line
from thresher.report.compare import Comparison, Movement, Outcome
from thresher.report.compare_report import config_changes, reason_changes, render_comparison, stage_pairs
from thresher.report.html import CSP
from thresher.report.run_data import Example, QuarantineExample, RunData, StageStats
from thresher.report.run_report import render_run_report
from thresher.report.svg import Histogram, histogram_chart

HOSTILE = '</pre><script>alert("x")</script><img src=x onerror=alert(1)>'


def _stats(stage: str, index: int, docs_in: int, removed: int, reasons: dict[str, int], **extra: Any) -> StageStats:
    row = {
        "run_id": "r1",
        "stage_index": index,
        "stage": stage,
        "segment": f"{index:02d}_{stage}",
        "mode": "filter",
        "docs_in": docs_in,
        "docs_out": docs_in - removed,
        "docs_excluded": removed,
        "docs_flagged": removed,
        "chars_in": docs_in * 100,
        "chars_out": (docs_in - removed) * 100,
        "words_in": docs_in * 20,
        "words_out": (docs_in - removed) * 20,
        "reason_counts": reasons,
        "signals": json.dumps(extra.get("payload", {"signals": {}, "details": {}})),
        "metrics": extra.get("metrics", {}),
        "wall_seconds": 2.0,
        "docs_per_second": docs_in / 2.0,
    }
    return StageStats.from_row(row)


def _words_signal() -> dict[str, Any]:
    return {
        "kind": "numeric",
        "count": 90,
        "non_finite": 0,
        "mean": 30.0,
        "min": 1.0,
        "max": 200.0,
        "quantiles": {"0.01": 1.0, "0.05": 2.0, "0.5": 25.0, "0.95": 90.0, "0.99": 100.0},
        "thresholds": [10, None],
        "histogram": {
            "scale": "linear",
            "edges": [0.0, 10.0, 20.0, 100.0],
            "counts": [10, 40, 30],
            "kept": [0, 40, 30],
            "below": {"count": 0, "kept": 0},
            "above": {"count": 10, "kept": 10},
        },
    }


def _run(root: str = "/runs/a", min_words: int = 10, removed: int = 10) -> RunData:
    length_payload = {
        "signals": {
            "words": _words_signal(),
            "changed": {"kind": "boolean", "count": 90, "values": {"true": {"count": 9, "kept": 9}}},
        },
        "details": {"cluster_size_histogram": {"2": 5, "3-4": 1}, "groups": {"web": {"quota": 3, "weight": 0.5}}},
        "languages": {
            "source": "lang_id.lang",
            "counts": {"en": {"in": 60, "kept": 55}, "de": {"in": 30, "kept": 25}},
        },
    }
    stats = [
        _stats("ingest", 0, 100, 10, {"invalid_json": 10}),
        _stats("length", 1, 90, removed, {HOSTILE: removed}, payload=length_payload, metrics={"clusters": 6.0}),
    ]
    manifest = {
        "run_id": f"run-{root[-1]}",
        "status": "succeeded",
        "config": {"run": {"mode": "filter", "output": root}, "stages": {"length": {"min_words": min_words}}},
        "totals": {"input_records": 100, "kept": 90 - removed, "excluded": removed, "quarantine": 10},
        "segments": {"01_length": {"wall_seconds": 2.0, "stats_seconds": 0.5}},
        "input_fingerprint": "abc",
    }
    data = RunData(root, manifest, stats)
    data.examples[("length", HOSTILE)] = [Example("doc<1>", HOSTILE, 4000)]
    data.quarantine_examples["invalid_json"] = [QuarantineExample("in.jsonl", 3, "bad json", HOSTILE)]
    return data


def test_run_report_has_every_section_plot_and_table():
    html = render_run_report(_run())
    for section in (
        "overview",
        "funnel",
        "reasons",
        "signals",
        "languages",
        "details",
        "examples",
        "quarantine",
        "timings",
        "config",
    ):
        assert f'<section id="{section}">' in html
    charts = re.findall(r'data-chart="([a-z-]+)"', html)
    assert charts.count("histogram") == 1
    for kind in ("funnel-docs", "funnel-tokens", "reasons", "languages", "cluster-sizes", "quarantine", "timings"):
        assert kind in charts
    tables = set(re.findall(r'data-table="([a-z-]+)"', html))
    assert {"funnel", "reasons", "quantiles", "booleans", "languages", "metrics", "examples", "quarantine"} <= tables
    assert 'class="threshold"' in html and "min_words: 10" in html
    assert f'content="{CSP}"' in html


def test_document_text_reasons_and_ids_are_escaped():
    html = render_run_report(_run())
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "doc&lt;1&gt;" in html
    assert "script-src" not in CSP and "default-src 'none'" in CSP  # no script could run even if one slipped in


def test_histogram_draws_the_threshold_where_it_falls():
    chart = histogram_chart(
        Histogram(edges=[0, 10, 20, 30, 40], counts=[1, 2, 3, 4], kept=[0, 2, 3, 4], thresholds=[("min", 10)]),
        "h",
    )
    bars = [float(x) for x in re.findall(r'<rect class="bar" x="([0-9.]+)"', chart)]
    threshold = float(re.search(r'class="threshold" x1="([0-9.]+)"', chart).group(1))
    first, second = sorted(set(bars))[:2]
    assert abs(threshold - (second - 0.5)) < 0.2  # on the edge between the first and the second bin
    assert first < threshold


def _comparison() -> Comparison:
    a, b = _run("/runs/a"), _run("/runs/b", min_words=20, removed=25)
    b.stats.append(_stats("dedup", 2, 65, 5, {"duplicate": 5}))
    kept = Outcome("kept")
    removed = Outcome("removed", "length", HOSTILE)
    movements = [
        Movement(kept, kept, 65),
        Movement(removed, removed, 10),
        Movement(kept, removed, 15, [Example("d1", HOSTILE, 10)]),
    ]
    return Comparison(a, b, movements)


def test_comparison_lines_up_stages_and_finds_what_moved():
    c = _comparison()
    assert [p.stage for p in stage_pairs(c)] == ["ingest", "length", "dedup"]
    length = stage_pairs(c)[1]
    assert round(length.change, 4) == round(65 / 90 - 80 / 90, 4)
    assert config_changes(c) == [("stages.length.min_words", 10, 20)]
    assert reason_changes(c) == [("length", HOSTILE, 10, 25), ("dedup", "duplicate", 0, 5)]
    html = render_comparison(c)
    assert "<script" not in html and "&lt;script&gt;" in html
    assert 'data-table="moved-examples"' in html and "-16.7 pp" in html


def test_progress_line_fits_the_terminal():
    line = progress_line("thresher 01_normalize+length (run)", 45, 2, 200, 83, width=200)
    assert line.startswith("[#####") and "45/200 tasks, 2 running 1:23" in line
    assert len(progress_line("x" * 300, 1, 0, 2, 0, width=80)) < 80
    assert "waiting" in progress_line("thresher stats", 0, 0, 0, 1, width=80)
