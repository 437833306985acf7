"""The report's per-language view from hand-made stats rows: retention per language and stage, largest languages
by tokens or characters, outliers."""

from __future__ import annotations

import re

from tests.unit.test_report_render import _stats
from thresher.report.languages import language_retention, retention_outliers
from thresher.report.run_data import RunData
from thresher.report.run_report import render_run_report

# language -> documents into `language`, kept by it, kept by `gopher_quality` (of those that reached it).
FUNNEL = {
    "en": (400, 380, 300),
    "de": (200, 190, 150),
    "fr": (150, 140, 112),
    "es": (120, 110, 90),
    "ru": (100, 95, 78),
    "am": (60, 58, 3),  # Amharic: gopher_quality removes nearly all of it
    "yo": (8, 1, 1),  # too few documents to be judged
}


def _languages(stage: int) -> dict:
    counts = {}
    for lang, (docs_in, kept_lid, kept_gq) in FUNNEL.items():
        counts[lang] = {"in": docs_in, "kept": kept_lid} if stage == 0 else {"in": kept_lid, "kept": kept_gq}
    return {"signals": {}, "details": {}, "languages": {"source": "language.lang", "counts": counts}}


def _run(tokens: bool) -> RunData:
    lid_in = sum(v[0] for v in FUNNEL.values())
    lid_kept = sum(v[1] for v in FUNNEL.values())
    gq_kept = sum(v[2] for v in FUNNEL.values())
    stats = [
        _stats("ingest", 0, lid_in, 0, {}),
        _stats("language", 1, lid_in, lid_in - lid_kept, {"low_score": lid_in - lid_kept}, payload=_languages(0)),
        _stats("gopher_quality", 2, lid_kept, lid_kept - gq_kept, {"too_few_words": 1}, payload=_languages(1)),
    ]
    manifest = {"run_id": "r1", "status": "succeeded", "config": {"run": {"mode": "filter"}}, "segments": {}}
    data = RunData("/runs/a", manifest, stats)
    for lang, (_, _, kept) in FUNNEL.items():
        # German documents are long: more tokens than English from fewer documents.
        per_doc = 3000 if lang == "de" else 1000
        data.language_sizes[lang] = {
            "docs": kept,
            "chars": kept * per_doc * 4,
            "tokens": kept * per_doc if tokens else None,
        }
    return data


def test_retention_per_language_and_stage_comes_from_the_stage_tallies():
    rows = {r.lang: r for r in language_retention(_run(tokens=True).stats)}
    assert list(rows) == ["en", "de", "fr", "es", "ru", "am", "yo"]
    assert rows["am"].docs_in == 60 and rows["am"].docs_kept == 3 and rows["am"].retention == 0.05
    assert rows["am"].per_stage == {"language": (60, 58), "gopher_quality": (58, 3)}
    assert rows["am"].worst_stage() == ("gopher_quality", 3 / 58)


def test_only_a_language_far_from_the_median_is_an_outlier():
    languages = language_retention(_run(tokens=True).stats)
    found = retention_outliers(languages)
    # en 0.75, de 0.75, fr 0.747, es 0.75, ru 0.78, am 0.05; yo (12.5%) has too few documents to count.
    assert [o.language.lang for o in found] == ["am"]
    assert round(found[0].median, 3) == 0.75 and round(found[0].deviation, 3) == -0.7
    assert retention_outliers(languages[:4]) == []  # fewer than 5 languages: no judgement


def test_report_section_ranks_languages_by_tokens_or_by_chars_without_a_tokenizer():
    html = render_run_report(_run(tokens=True))
    assert '<section id="language-retention">' in html
    tables = set(re.findall(r'data-table="([a-z-]+)"', html))
    assert {"language-sizes", "language-stages", "language-outliers"} <= tables
    sizes = html[html.index('data-table="language-sizes"') :]
    # German has the most tokens (150 x 3000 = 450,000 > 300 x 1000).
    assert sizes.index(">de<") < sizes.index(">en<") and "450,000" in sizes
    assert "by tokens" in html
    by_chars = render_run_report(_run(tokens=False))
    assert "by characters (no run.tokenizer)" in by_chars and "1,800,000" in by_chars
    outliers = html[html.index('data-table="language-outliers"') :]
    assert ">am<" in outliers and "gopher_quality (kept 5.2%)" in outliers
