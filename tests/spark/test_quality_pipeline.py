"""The quality stages through the runner on the shared Spark session: conf/web_en.yaml end to end on the real
corpora, the refine global stage, and annotate mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, shared_corpus
from thresher.conf import load_config
from thresher.io.delta import DeltaStore, resolve_format
from thresher.runner import run_pipeline

pytestmark = pytest.mark.spark


def _table(spark, path: str):
    return DeltaStore(spark, resolve_format(spark, "auto")).read(path)


def _stats(result) -> dict[str, dict]:
    return {row["stage"]: row for row in result.stats}


def test_web_en_on_the_shared_corpora(spark, tmp_path: Path) -> None:
    corpora = shared_corpus("olmo_c4_1000.jsonl").parent
    config = load_config(
        PROJECT_ROOT / "conf" / "web_en.yaml",
        input_path=str(corpora / "*.jsonl"),
        output=str(tmp_path / "run"),
        sets=["stages.refine.min_docs=3"],
    )
    result = run_pipeline(config, spark)
    totals = result.totals
    assert totals["input_records"] == 2407
    assert totals["kept"] + totals["excluded"] + totals["quarantine"] == totals["input_records"]
    assert 500 < totals["kept"] < 2000
    stats = _stats(result)
    order = ["url_filter", "language", "gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality"]
    order += ["refine", "url_dedup", "exact_dedup", "minhash_dedup", "pii"]
    assert [r["stage"] for r in result.stats][1:] == order
    for stage in order:
        row = stats[stage]
        assert row["docs_in"] == row["docs_out"] + row["docs_excluded"]
    assert stats["language"]["reason_counts"]["not_in_languages"] > 300  # the multilingual raw crawl
    assert stats["gopher_quality"]["reason_counts"]["too_few_words"] > 0
    assert stats["c4_quality"]["reason_counts"]["too_few_sentences"] > 0
    assert stats["c4_quality"]["chars_out"] < stats["c4_quality"]["chars_in"]
    assert stats["refine"]["metrics"]["frequent_lines"] > 0
    pii_signals = json.loads(stats["pii"]["signals"])["signals"]
    assert {"emails", "ips", "phones"} <= set(pii_signals)
    assert pii_signals["emails"]["count"] == stats["pii"]["docs_in"]
    kept = _table(spark, str(tmp_path / "run" / "kept"))
    languages = {r["lang"] for r in kept.select("language.lang").distinct().collect()}
    assert languages == {"en"}
    assert kept.where("text rlike '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\\\\.(com|org|net)\\\\b'").count() == 0
    excluded = _table(spark, str(tmp_path / "run" / "excluded"))
    by_stage = {r["stage"]: r["count"] for r in excluded.groupBy("stage").count().collect()}
    assert sum(by_stage.values()) == totals["excluded"]
    assert by_stage["gopher_quality"] == stats["gopher_quality"]["docs_excluded"]


BOILERPLATE = ["Subscribe to our newsletter for weekly updates", "Copyright 2019 Example Media. All rights reserved"]


def _write(path: Path, docs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


def test_refine_removes_lines_repeated_across_documents(spark, tmp_path: Path) -> None:
    docs = []
    subjects = ["harbour", "bridge", "market", "library", "station", "cathedral", "museum", "lighthouse"]
    for i, subject in enumerate(subjects):
        body = f"This article describes the {subject} and its history in some detail."
        docs.append(
            {"id": f"a{i}", "text": "\n".join([BOILERPLATE[0], body, BOILERPLATE[1].replace("2019", str(2010 + i))])}
        )
    docs.append({"id": "only-boilerplate", "text": "\n".join(BOILERPLATE)})
    docs.append({"id": "mojibake", "text": "The cafÃ© doesnâ€™t open before nine on Sundays."})
    source = _write(tmp_path / "docs.jsonl", docs)
    config = load_config(
        data={
            "run": {"output": str(tmp_path / "run"), "mode": "filter"},
            "input": {"path": str(source)},
            "stages": {"refine": {"min_docs": 5}},
        }
    )
    result = run_pipeline(config, spark)
    assert result.totals == {"input_records": 10, "kept": 9, "excluded": 1, "quarantine": 0}
    row = _stats(result)["refine"]
    assert row["reason_counts"] == {"empty_after_refine": 1}
    assert row["metrics"]["frequent_lines"] == 2  # the copyright line with its varying year is one line
    assert row["chars_out"] < row["chars_in"]
    kept = {r["doc_id"]: r for r in _table(spark, str(tmp_path / "run" / "kept")).collect()}
    assert kept["a3"]["text"] == "This article describes the library and its history in some detail."
    assert kept["a3"]["refine"]["lines_removed"] == 2
    assert kept["mojibake"]["text"] == "The café doesn’t open before nine on Sundays."
    assert kept["mojibake"]["refine"]["mojibake_fixed"] is True
    excluded = _table(spark, str(tmp_path / "run" / "excluded")).collect()
    assert [(r["doc_id"], r["stage"], r["reason"]) for r in excluded] == [
        ("only-boilerplate", "refine", "empty_after_refine")
    ]


def test_annotate_mode_records_decisions_and_removes_nothing(spark, tmp_path: Path) -> None:
    prose = "\n".join(
        [
            "The river runs through the old town and past the mill that was built in the last century.",
            "Every spring the water rises with the melting snow, and people move their boats to higher ground.",
            "Children play on the bridge while their parents talk about the weather and the harvest.",
            "In the evening the lamps are lit and the streets grow quiet again.",
        ]
    )
    docs = [
        {"id": "prose", "text": prose + "\nWrite to mayor@town.example or call 555-123-4567 for a visit."},
        {"id": "short", "text": "Buy now!"},
        {"id": "spam", "text": "click here " * 60},
    ]
    source = _write(tmp_path / "docs.jsonl", docs)
    config = load_config(
        data={
            "run": {"output": str(tmp_path / "run"), "mode": "annotate"},
            "input": {"path": str(source)},
            "stages": {"gopher_repetition": {}, "gopher_quality": {}, "c4_quality": {}, "pii": {}},
        }
    )
    result = run_pipeline(config, spark)
    assert result.totals == {"input_records": 3, "kept": 3, "excluded": 0, "quarantine": 0}
    stats = _stats(result)
    assert stats["gopher_quality"]["docs_flagged"] == 2 and stats["gopher_quality"]["docs_excluded"] == 0
    assert stats["gopher_repetition"]["reason_counts"] == {"top_2_gram": 2}  # 'click here', 'Buy now'
    assert stats["c4_quality"]["docs_flagged"] == 2
    rows = {r["doc_id"]: r for r in _table(spark, str(tmp_path / "run" / "kept")).collect()}
    assert rows["prose"]["gopher_quality"]["keep"] is True
    assert rows["short"]["gopher_quality"]["reason"] == "too_few_words"
    assert rows["prose"]["pii"]["emails"] == 1 and rows["prose"]["pii"]["phones"] == 1
    # Annotate mode keeps the original text; what a filter run would carry on is beside it.
    assert "mayor@town.example" in rows["prose"]["text"]
    assert "<EMAIL>" in rows["prose"]["rewritten_text"] and "mayor@" not in rows["prose"]["rewritten_text"]
