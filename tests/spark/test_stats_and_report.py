"""Stats, report and comparison of real runs: a filter run and an annotate run of a real multilingual crawl
(plus a few records written here), checked against counts recomputed from kept/, excluded/ and quarantine/."""

from __future__ import annotations

import bisect
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson
import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tests.conftest import shared_corpus
from tests.spark.toy_stages import ExactDuplicates, StopwordLanguage
from thresher import runner
from thresher.cli import main
from thresher.conf import PipelineConfig, StageSpec, load_config
from thresher.core.records import StageStats
from thresher.io.delta import DeltaStore
from thresher.io.layout import INGEST_SEGMENT, OutputLayout
from thresher.plan import make_plan
from thresher.progress import ProgressBar, progress_on_terminal
from thresher.report.compare import ABSENT, KEPT, REMOVED, compare_runs
from thresher.report.run_data import load_run
from thresher.report.run_report import render_run_report
from thresher.runner import RunResult, run_pipeline
from thresher.spark import set_job_description
from thresher.stages.fused import count_words
from thresher.stats import SegmentRun, StageTiming, ingest_stats, segment_stats, words_column

pytestmark = pytest.mark.spark

HOSTILE = "<script>alert('thresher')</script> is the end of a <b>short</b> & sweet one"
HOSTILE_RECORD = b"<script>alert('raw')</script>"  # not JSON: quarantined
STAGES = ["normalize", "lang_id", "length", "exact_dupes"]
NUMERIC = [
    ("normalize", "control_chars_removed"),
    ("lang_id", "score"),
    ("length", "chars"),
    ("length", "words"),
    ("exact_dupes", "cluster_size"),
]


def _config(corpus: Path, out: Path, mode: str, min_words: int) -> PipelineConfig:
    data = {
        "run": {"output": str(out), "mode": mode},
        "input": {"path": str(corpus)},
        "stages": {"normalize": {}, "length": {"min_words": min_words}},
    }
    config = load_config(data=data)
    normalize, length = (spec.stage for spec in config.stages)
    stages = [normalize, StopwordLanguage(), length, ExactDuplicates()]
    specs = tuple(StageSpec(s.id, s) for s in stages)
    return PipelineConfig(config.run, config.inputs, config.spark, specs, config.resolved)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "crawl.jsonl"
    extra = [orjson.dumps({"id": "hostile", "text": HOSTILE}), HOSTILE_RECORD, b'{"id": "blank", "text": "  "}']
    path.write_bytes(shared_corpus("dolma_cc_2019_30_raw.jsonl").read_bytes() + b"\n".join(extra) + b"\n")
    return path


def _run_measuring_in_the_pass(spark, config: PipelineConfig) -> RunResult:
    """A run whose statistics must all come from its passes (thresher.stats_tap), never from re-reading a
    checkpoint."""

    def reread(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("statistics re-read a checkpoint instead of being measured while it was written")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "segment_stats", reread)
        patch.setattr(runner, "ingest_stats", reread)
        return run_pipeline(config, spark)


@pytest.fixture(scope="module")
def filter_run(spark, corpus, tmp_path_factory) -> tuple[RunResult, Path]:
    out = tmp_path_factory.mktemp("runs") / "a"
    return _run_measuring_in_the_pass(spark, _config(corpus, out, "filter", 50)), out


@pytest.fixture(scope="module")
def annotate_run(spark, corpus, tmp_path_factory) -> tuple[RunResult, Path]:
    out = tmp_path_factory.mktemp("runs") / "b"
    return _run_measuring_in_the_pass(spark, _config(corpus, out, "annotate", 80)), out


def _comparable(row: StageStats) -> dict[str, Any]:
    """A stats row without what its timing gave it (times, metrics, a global stage's details)."""
    columns = row.to_row()
    blob = json.loads(columns.pop("signals"))
    blob.pop("details", None)
    for key in ("wall_seconds", "docs_per_second", "started_at", "finished_at", "metrics", "run_id"):
        columns.pop(key, None)
    return {**columns, "blob": blob}


def _close(a: Any, b: Any) -> bool:
    """Equal, floats to 12 digits (a mean sums its values in another order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12, abs=1e-300)
    return a == b


@pytest.mark.parametrize(("mode", "min_words"), [("filter", 50), ("annotate", 80)])
def test_stats_measured_in_the_pass_equal_a_reread_of_the_checkpoints(
    spark, corpus, filter_run, annotate_run, mode, min_words
):
    result, out = filter_run if mode == "filter" else annotate_run
    plan = make_plan(_config(corpus, out, mode, min_words), "unused")
    store, layout = DeltaStore(spark, "delta-rs"), OutputLayout(str(out))
    timing = StageTiming(None, None, None)
    reread = [ingest_stats(store.read(layout.checkpoint(INGEST_SEGMENT)), result.run_id, mode, timing)]
    index, expected_in = 1, reread[0].docs_out
    for segment in plan.segments:
        timings = {s.id: timing for s in segment.stages}
        rows = segment_stats(
            store.read(layout.checkpoint(segment.name)),
            SegmentRun(segment, index, result.run_id, mode, expected_in, timings, plan.stages_before(segment)),
        )
        reread += rows
        index, expected_in = index + len(rows), rows[-1].docs_out
    measured = {row.stage: row for row in result.stats}
    assert [r.stage for r in reread] == [r.stage for r in result.stats]
    for row in reread:
        assert _close(_comparable(row), _comparable(measured[row.stage])), row.stage
    assert reread[-1].signals["cluster_size"]["histogram"]["counts"]


def _table(spark, path: Path) -> DataFrame:
    return DeltaStore(spark, "delta-rs").read(str(path))


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(row["signals"])


def test_filter_stats_agree_with_the_written_tables(spark, corpus, filter_run):
    result, out = filter_run
    stats = {r["stage"]: r for r in result.stats}
    kept = _table(spark, out / "kept")
    excluded = _table(spark, out / "excluded")
    quarantine = _table(spark, out / "quarantine")
    removed = Counter(
        {(r["stage"], r["reason"]): r["count"] for r in excluded.groupBy("stage", "reason").count().collect()}
    )
    quarantined = {r["reason"]: r["count"] for r in quarantine.groupBy("reason").count().collect()}
    records = sum(1 for _ in corpus.open("rb"))
    assert stats["ingest"]["docs_in"] == records == kept.count() + excluded.count() + quarantine.count()
    assert stats["ingest"]["docs_excluded"] == sum(quarantined.values()) >= 2
    assert stats["ingest"]["reason_counts"] == quarantined
    passed_on = kept.count()
    for stage in reversed(STAGES):
        reasons = {reason: n for (s, reason), n in removed.items() if s == stage}
        row = stats[stage]
        assert (row["docs_out"], row["docs_excluded"], row["reason_counts"]) == (
            passed_on,
            sum(reasons.values()),
            reasons,
        ), stage
        assert row["docs_in"] == passed_on + sum(reasons.values())
        passed_on = row["docs_in"]
    assert passed_on == stats["ingest"]["docs_out"]
    assert removed[("exact_dupes", "duplicate")] > 0 and removed[("length", "too_few_words")] > 0
    texts = [r["text"] for r in kept.select("text").collect()]
    assert stats["exact_dupes"]["chars_out"] == sum(len(t) for t in texts)
    assert stats["exact_dupes"]["words_out"] == sum(count_words(t) for t in texts)


def _reached(spark, out: Path, stage: str) -> list[Any]:
    """Every document that reached `stage`, from kept/ and excluded/ (its struct is null elsewhere)."""
    frames = [_table(spark, out / "kept")]
    if (out / "excluded").exists():
        frames.append(_table(spark, out / "excluded"))
    rows = []
    for frame in frames:
        if stage in frame.columns:
            columns = [stage, "lang_id"] if stage != "lang_id" and "lang_id" in frame.columns else [stage]
            rows += [r for r in frame.select(*columns).collect() if r[stage] is not None]
    return rows


def _bin(value: float, edges: list[float]) -> str:
    if value < edges[0]:
        return "below"
    if value > edges[-1]:
        return "above"
    return str(min(bisect.bisect_right(edges, value) - 1, len(edges) - 2))


def test_histograms_count_every_value_in_its_bin(spark, filter_run):
    result, out = filter_run
    stats = {r["stage"]: r for r in result.stats}
    for stage, name in NUMERIC:
        summary = _payload(stats[stage])["signals"][name]
        h = summary["histogram"]
        values = [(r[stage][name], r[stage]["keep"]) for r in _reached(spark, out, stage)]
        assert summary["count"] == len(values) == stats[stage]["docs_in"]
        assert (summary["min"], summary["max"]) == (min(v for v, _ in values), max(v for v, _ in values))
        bins = Counter(_bin(v, h["edges"]) for v, _ in values)
        kept = Counter(_bin(v, h["edges"]) for v, k in values if k)
        assert h["counts"] == [bins[str(i)] for i in range(len(h["counts"]))], (stage, name)
        assert h["kept"] == [kept[str(i)] for i in range(len(h["kept"]))], (stage, name)
        assert (h["below"]["count"], h["above"]["count"]) == (bins["below"], bins["above"])
        assert sum(h["counts"]) + h["below"]["count"] + h["above"]["count"] == summary["count"]
    length = _payload(stats["length"])["signals"]["words"]
    assert length["thresholds"] == [50, None] and 50.0 in length["histogram"]["edges"]
    assert length["histogram"]["scale"] == "log"
    score = _payload(stats["lang_id"])["signals"]["score"]
    assert score["thresholds"] == [0.02, None] and 0.02 in score["histogram"]["edges"]
    changed = _payload(stats["normalize"])["signals"]["changed"]
    recomputed = sum(1 for r in _reached(spark, out, "normalize") if r["normalize"]["changed"])
    assert changed["kind"] == "boolean" and changed["values"]["true"]["count"] == recomputed > 0


def test_languages_are_counted_from_the_language_stage_on(spark, filter_run):
    result, out = filter_run
    stats = {r["stage"]: r for r in result.stats}
    assert "languages" not in _payload(stats["normalize"])
    for stage in ("lang_id", "length", "exact_dupes"):
        languages = _payload(stats[stage])["languages"]
        assert languages["source"] == "lang_id.lang"
        rows = _reached(spark, out, stage)
        docs = Counter(r["lang_id"]["lang"] or "und" for r in rows)
        kept = Counter(r["lang_id"]["lang"] or "und" for r in rows if r[stage]["keep"])
        assert {code: c["in"] for code, c in languages["counts"].items()} == dict(docs), stage
        assert {code: c["kept"] for code, c in languages["counts"].items() if c["kept"]} == dict(kept), stage
    counts = _payload(stats["lang_id"])["languages"]["counts"]
    assert {"en", "es", "fr", "it"} <= set(counts) and next(iter(counts)) == "en"


def test_dedup_details_reach_the_stats_row(filter_run):
    result, _ = filter_run
    row = next(r for r in result.stats if r["stage"] == "exact_dupes")
    sizes = _payload(row)["details"]["cluster_size_histogram"]
    assert sum(int(size) * n for size, n in sizes.items()) - sum(sizes.values()) == row["docs_excluded"]
    assert row["metrics"]["clusters"] == sum(sizes.values())


def test_annotate_stats_agree_with_the_flags_on_kept(spark, annotate_run):
    result, out = annotate_run
    kept = _table(spark, out / "kept")
    total = kept.count()
    for row in result.stats[1:]:
        stage = row["stage"]
        flagged = kept.where(f"{stage}.keep = false").groupBy(f"{stage}.reason").count().collect()
        reasons = {r["reason"]: r["count"] for r in flagged}
        assert (row["docs_in"], row["docs_out"], row["docs_excluded"]) == (total, total, 0), stage
        assert (row["docs_flagged"], row["reason_counts"]) == (sum(reasons.values()), reasons), stage


def test_report_of_a_filter_run(spark, filter_run):
    result, out = filter_run
    html = (out / "report.html").read_text()  # written by the run itself
    for section in ("funnel", "reasons", "signals", "languages", "details", "examples", "quarantine", "timings"):
        assert f'<section id="{section}">' in html
    charts = re.findall(r'data-chart="([a-z-]+)"', html)
    assert charts.count("histogram") == len(NUMERIC)
    assert {"funnel-docs", "funnel-tokens", "reasons", "languages", "cluster-sizes", "quarantine"} <= set(charts)
    assert html.count('class="threshold"') == 2  # length.words min 50, lang_id.score min 0.02
    assert result.run_id in html and "too_few_words" in html and "invalid_json" in html
    # The record that is not JSON is the one invalid_json example: shown as text.
    assert "<script" not in html and "&lt;script&gt;alert(&#x27;raw&#x27;)&lt;/script&gt;" in html
    # The short document is one of many that length excluded: with every example shown, it is there, as text.
    data = load_run(spark, str(out), examples_per_group=10_000)
    everything = render_run_report(data)
    assert "<script" not in everything and "<b>short" not in everything
    # The per-language view: kept documents and characters per language, as kept/ holds them.
    lang = F.coalesce(F.nullif(F.col("lang_id.lang"), F.lit("")), F.lit("und"))
    kept = _table(spark, out / "kept").groupBy(lang).agg(F.count("*"), F.sum(F.length("text")))
    assert {r[0]: (r[1], r[2]) for r in kept.collect()} == {
        lang: (v["docs"], v["chars"]) for lang, v in data.language_sizes.items()
    }
    assert '<section id="language-retention">' in html and 'data-table="language-stages"' in html
    assert (
        "&lt;script&gt;alert(&#x27;thresher&#x27;)&lt;/script&gt; is the end of a &lt;b&gt;short&lt;/b&gt; &amp;"
        in everything
    )


def test_report_of_an_annotate_run_shows_flagged_examples(annotate_run):
    _, out = annotate_run
    html = (out / "report.html").read_text()
    assert "Flagged documents" in html and "&lt;script&gt;" in html and "<script" not in html
    assert 'data-table="examples"' in html and "too_few_words" in html


def _outcomes(spark, out: Path, mode: str) -> dict[str, tuple[str, str | None, str | None]]:
    outcomes = {}
    for row in _table(spark, out / "kept").collect():
        first = next((s for s in STAGES if mode == "annotate" and row[s]["keep"] is False), None)
        outcomes[row["doc_id"]] = (KEPT, None, None) if first is None else (REMOVED, first, row[first]["reason"])
    if mode == "filter":
        for row in _table(spark, out / "excluded").select("doc_id", "stage", "reason").collect():
            outcomes[row["doc_id"]] = (REMOVED, row["stage"], row["reason"])
    return outcomes


def test_compare_counts_the_documents_that_moved(spark, filter_run, annotate_run):
    (_, a_out), (_, b_out) = filter_run, annotate_run
    comparison = compare_runs(spark, str(a_out), str(b_out))
    a, b = _outcomes(spark, a_out, "filter"), _outcomes(spark, b_out, "annotate")
    expected = Counter((a.get(d, (ABSENT, None, None)), b.get(d, (ABSENT, None, None))) for d in set(a) | set(b))
    got = {
        ((m.before.kind, m.before.stage, m.before.reason), (m.after.kind, m.after.stage, m.after.reason)): m.count
        for m in comparison.movements
    }
    assert got == dict(expected)
    moved = comparison.moved()
    assert any(m.before.kind == KEPT and m.after.reason == "too_few_words" for m in moved)  # min_words 50 -> 80
    for m in moved:
        assert 0 < len(m.examples) <= min(3, m.count)
        for example in m.examples:
            assert a.get(example.doc_id, (ABSENT, None, None))[1:] == (m.before.stage, m.before.reason)
            assert b.get(example.doc_id, (ABSENT, None, None))[1:] == (m.after.stage, m.after.reason)


def test_words_column_counts_like_the_row_stages(spark):
    texts = [
        "",
        "  ",
        " a  b ",
        "a\u00a0b",
        "\u3000x\u2003y",
        "x\ty\nz",
        "a\x1cb\x1dc",
        "a\u200bb",
        "a\u2028b",
        "😀 b",
    ]
    frame = spark.createDataFrame([(t,) for t in texts], "text string")
    counted = frame.select("text", words_column(F.col("text")).alias("words")).collect()
    assert {r["text"]: r["words"] for r in counted} == {t: count_words(t) for t in texts}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _slow(batches):
    for batch in batches:
        time.sleep(0.3)
        yield batch


def test_progress_line_follows_the_spark_tasks(spark):
    stream = _Terminal()
    bar = ProgressBar(stream, interval=0.05)
    bar.start()
    try:
        set_job_description(spark, "thresher 01_progress (test)")
        spark.range(0, 8, numPartitions=4).mapInArrow(_slow, "id long").collect()
    finally:
        set_job_description(spark, None)
        bar.stop()
    shown = stream.getvalue()
    assert "thresher 01_progress (test)" in shown and re.search(r"\d/4 tasks", shown)
    assert shown.endswith("\r\x1b[K")  # the line is cleared when the run ends
    quiet = io.StringIO()  # not a terminal: nothing is drawn
    with progress_on_terminal(quiet):
        spark.range(0, 8, numPartitions=2).mapInArrow(_slow, "id long").collect()
    assert quiet.getvalue() == ""


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's headless Chromium; installed with apt-get when missing (about 95 s with `apt-get update`, measured
    on the project's machines), else the test is skipped saying why."""
    found = shutil.which("chromium")
    if found:
        return found
    if not shutil.which("apt-get") or os.geteuid() != 0:
        pytest.skip("chromium is not installed and apt-get cannot install it here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "chromium"]
    clock = time.monotonic()
    result = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if result.returncode != 0:  # a fresh machine has no package lists yet
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=600)
        result = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if result.returncode != 0 or not shutil.which("chromium"):
        pytest.skip(f"chromium could not be installed with apt-get: {result.stderr.strip()[-300:]}")
    print(f"installed chromium in {time.monotonic() - clock:.0f} s", file=sys.stderr)
    return shutil.which("chromium") or "chromium"


class _Dom(HTMLParser):
    """Counts what a report page holds: sections, charts (and their bars), tables, script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.charts: list[str] = []
        self.bars_per_chart: list[int] = []
        self.tables: list[str] = []
        self.scripts = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "section":
            self.sections.append(attributes.get("id") or "")
        elif tag == "svg":
            self.charts.append(attributes.get("data-chart") or "")
            self.bars_per_chart.append(0)
        elif tag == "rect" and attributes.get("class") == "bar":
            self.bars_per_chart[-1] += 1
        elif tag == "table":
            self.tables.append(attributes.get("data-table") or "")
        elif tag == "script":
            self.scripts += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_report_renders_in_headless_chromium(chromium, filter_run, tmp_path):
    _, out = filter_run
    url = (out / "report.html").as_uri()
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dump = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, *profile, "--dump-dom", url], capture_output=True, text=True, timeout=120
    )
    assert dump.returncode == 0, dump.stderr[-2000:]
    dom = _Dom()
    dom.feed(dump.stdout)
    expected_sections = ["overview", "funnel", "reasons", "signals", "languages", "language-retention", "details"]
    expected_sections.append("examples")
    assert dom.sections == [*expected_sections, "quarantine", "timings", "config"]
    assert dom.charts.count("histogram") == len(NUMERIC)
    assert {"funnel-docs", "funnel-tokens", "reasons", "languages", "cluster-sizes", "quarantine", "timings"} <= set(
        dom.charts
    )
    assert all(bars > 0 for bars in dom.bars_per_chart)  # every chart drew something
    assert {"run", "funnel", "reasons", "quantiles", "booleans", "languages", "metrics", "examples"} <= set(dom.tables)
    assert {"quarantine", "timings", "segments"} <= set(dom.tables)
    assert dom.scripts == 0 and "<script>alert('raw')</script>" in "".join(dom.text)  # the record stayed text
    shot = tmp_path / "report.png"
    screenshot = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, *profile, "--window-size=1280,3000", f"--screenshot={shot}", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert screenshot.returncode == 0, screenshot.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1280, 3000)
    assert len(png) > 50_000  # a blank page of that size compresses to a few kB


def test_report_command_writes_a_report_and_a_comparison(filter_run, annotate_run, tmp_path, capsys):
    (_, a_out), (_, b_out) = filter_run, annotate_run
    page = tmp_path / "again.html"
    assert main(["report", str(a_out), "--output", str(page)]) == 0
    assert f"report: {page}" in capsys.readouterr().out and 'data-chart="histogram"' in page.read_text()
    assert main(["report", str(a_out), str(b_out)]) == 0
    printed = capsys.readouterr().out
    assert "config stages.length.min_words: 50 -> 80" in printed and "config run.mode: filter -> annotate" in printed
    assert re.search(r"length\s+\d+\.\d%\s+\d+\.\d%\s+-\d+\.\d pp", printed)
    assert "kept -> length: too_few_words" in printed and f"comparison: {b_out / 'compare.html'}" in printed
    assert 'data-table="moved-examples"' in (b_out / "compare.html").read_text()


def test_report_command_needs_a_run_directory(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "holds no run (no manifest.json)" in capsys.readouterr().err
