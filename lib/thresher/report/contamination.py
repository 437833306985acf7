"""The report's benchmark-contamination section: documents per benchmark found by `decontaminate` stages."""

from __future__ import annotations

from typing import Any

from thresher.report.html import Section, heading, paragraph, percent, table
from thresher.report.run_data import RunData

DECONTAMINATE = "decontaminate"


def contamination_sections(data: RunData) -> list[Section]:
    """With a decontaminate stage: one section, a table of benchmark, its file and fields, documents that
    contain it. Without one: none."""
    stages = [s for s in data.stats if s.stage == DECONTAMINATE]
    config = (data.manifest.config.get("stages") or {}).get(DECONTAMINATE) or {}
    if not stages:
        return []
    verb = "flagged" if data.mode == "annotate" else "removed"
    parts = []
    for s in stages:
        docs_in = s.docs_in
        contaminated = s.docs_flagged
        parts.append(heading(f"{s.stage}: {contaminated:,} of {docs_in:,} documents {verb} as contaminated"))
        rows = []
        for spec in config.get("benchmarks", []):
            found = _true_count(s.signals.get(spec["name"]))
            rows.append([spec["name"], spec["path"], " + ".join(spec["fields"]), found, percent(found, docs_in)])
        parts.append(table(["benchmark", "file", "fields", "documents", "share"], rows, "contamination"))
        parts.append(
            paragraph(
                f"A document counts for every benchmark one of whose {config.get('ngram', 13)}-word n-grams "
                "(or, for a shorter item, the whole item) it contains, after lower-casing and splitting into "
                "words; `decontaminate.benchmark` / `.item` name the first item found in it.",
                "muted small",
            )
        )
    return [Section("contamination", "Benchmark contamination", parts)]


def _true_count(summary: dict[str, Any] | None) -> int:
    if not summary:
        return 0
    return int((summary.get("values") or {}).get("true", {}).get("count", 0))
