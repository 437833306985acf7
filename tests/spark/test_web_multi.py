"""conf/web_multi.yaml through the runner on real multilingual text: UDHR translations (clean text a good pipeline
keeps) in languages with and without spaces, mixed with raw Common Crawl pages; each language's own settings
apply."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, shared_corpus
from thresher.conf import load_config
from thresher.io.delta import DeltaStore, resolve_format
from thresher.runner import run_pipeline
from thresher.text.segmenters import missing_packages

pytestmark = pytest.mark.spark

# UDHR translations (ISO 639-3 as the corpus labels them) -> the code lid.176 reports.
LANGUAGES = {"fra": "fr", "deu": "de", "rus": "ru", "arb": "ar", "cmn": "zh", "jpn": "ja", "hin": "hi", "tur": "tr"}


def _udhr_documents(path: Path, languages: dict[str, str] = LANGUAGES, size: int = 30) -> list[dict]:
    """Each language's first translation (its standard one where the corpus marks it), in documents of `size`
    paragraphs."""
    chosen: dict[str, dict] = {}
    with gzip.open(path, "rt") as f:
        for line in f:
            row = json.loads(line)
            if row["iso6393"] in languages and (row["iso6393"] not in chosen or row["code"] == row["iso6393"]):
                chosen[row["iso6393"]] = row
    docs = []
    for iso3, row in sorted(chosen.items()):
        paragraphs = [p for p in row["text"].split("\n") if p.strip()]
        for part in range(0, len(paragraphs), size):
            chunk = paragraphs[part : part + size]
            docs.append({"id": f"udhr-{iso3}-{part}", "text": "\n".join(chunk)})
    return docs


@pytest.mark.skipif(bool(missing_packages()), reason="needs the multilingual extra (dictionary segmentation)")
def test_web_multi_keeps_clean_text_in_each_language_and_removes_raw_pages(spark, tmp_path: Path) -> None:
    udhr = _udhr_documents(shared_corpus("multilingual/udhr_all.jsonl.gz"))
    assert {d["id"].split("-")[1] for d in udhr} == set(LANGUAGES)
    with open(shared_corpus("dolma_cc_2019_30_raw.jsonl")) as f:
        raw = [json.loads(line) for line in f][:120]
    corpus = tmp_path / "in.jsonl"
    corpus.write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in udhr + raw))
    config = load_config(
        PROJECT_ROOT / "conf" / "web_multi.yaml",
        input_path=str(corpus),
        output=str(tmp_path / "run"),
    )
    result = run_pipeline(config, spark)
    totals = result.totals
    assert totals["kept"] + totals["excluded"] + totals["quarantine"] == totals["input_records"]
    store = DeltaStore(spark, resolve_format(spark, "auto"))
    kept = store.read(str(tmp_path / "run" / "kept"))
    rows = {r["doc_id"]: r for r in kept.select("doc_id", "language.lang", "language.script").collect()}
    # Every UDHR language keeps most of its text, labelled with its ISO 639-1 code and script.
    for iso3, iso1 in LANGUAGES.items():
        ids = [d["id"] for d in udhr if d["id"].startswith(f"udhr-{iso3}-")]
        kept_ids = [i for i in ids if i in rows]
        assert len(kept_ids) >= len(ids) - 1, (iso3, len(kept_ids), len(ids))
        assert {rows[i]["lang"] for i in kept_ids} == {iso1}
    assert {rows[i]["script"] for i in rows if i.startswith("udhr-cmn")} == {"Hani"}
    # Most raw crawl pages are removed, by several rules.
    raw_kept = sum(1 for d in raw if d["id"] in rows)
    assert raw_kept < 0.6 * len(raw)
    stats = {row["stage"]: row for row in result.stats}
    assert stats["language"]["reason_counts"].get("low_score", 0) > 0
    rules = ("gopher_repetition", "fineweb_quality", "gopher_quality")
    removed_by_rules = sum(stats[s]["docs_excluded"] for s in rules)
    assert removed_by_rules > 10


def test_calibrate_writes_settings_the_stages_read(spark, tmp_path: Path) -> None:
    from thresher.cli import main
    from thresher.stages.quality._presets import load_settings
    from thresher.stages.quality.gopher import GopherQualityParams

    languages = {"eng": "en", "fra": "fr", "deu": "de", "rus": "ru", "spa": "es"}
    docs = _udhr_documents(shared_corpus("multilingual/udhr_all.jsonl.gz"), languages, size=4)
    reference = tmp_path / "reference.jsonl"
    reference.write_text("".join(json.dumps(d) + "\n" for d in docs))
    output = tmp_path / "settings.json"
    assert main(["calibrate", "--input", str(reference), "--output", str(output), "--min-documents", "15"]) == 0
    settings = load_settings(str(output))
    assert {"eng_Latn", "fra_Latn", "deu_Latn", "rus_Cyrl", "spa_Latn"} <= set(settings.values)
    report = json.loads((tmp_path / "settings.report.json").read_text())
    assert report["method"] == "english_rate" and report["languages"]["fra_Latn"]["documents"] >= 15
    for key in ("fra_Latn", "rus_Cyrl"):
        values = settings.values[key]
        assert 0.3 <= values["language_score"] <= 0.9
        assert 0 < values["min_avg_word_length"] < values["max_avg_word_length"] < 20
    # Frequent words of each language's reference text become its stop words.
    assert {"de", "la", "et"} <= set(settings.stop_words["fra_Latn"])
    assert {"и", "в"} <= set(settings.stop_words["rus_Cyrl"])
    french = GopherQualityParams(preset=str(output)).for_language("fr")
    assert french.stop_words == settings.stop_words["fra_Latn"]
