"""The report's per-language view: retention per language per stage, the largest languages of the output by tokens
(characters without a tokenizer), and the languages whose retention is an outlier.

Everything comes from what a run already records: the per-stage language tallies of the stats table (documents
reaching each stage and kept by it, per language, from the language-detecting stage on) and one aggregation of
kept/ by language (`RunData.language_sizes`).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from thresher.report.html import Section, heading, paragraph, percent, table
from thresher.report.run_data import RunData, StageStats

# Languages listed one by one in the tables.
TOP_LANGUAGES = 25
# Languages with fewer documents reaching the first language-aware stage are not judged as outliers.
MIN_OUTLIER_DOCS = 20
# An outlier's retention differs from the median by more than this many robust standard deviations (1.4826 MAD)
# and by at least MIN_OUTLIER_GAP.
OUTLIER_DEVIATIONS = 3.0
MIN_OUTLIER_GAP = 0.15


@dataclass(frozen=True)
class LanguageRetention:
    lang: str
    # Documents that reached the first stage counting languages, and that the last one kept.
    docs_in: int
    docs_kept: int
    # Stage -> (documents in, documents kept) in this language.
    per_stage: dict[str, tuple[int, int]]

    @property
    def retention(self) -> float:
        return self.docs_kept / self.docs_in if self.docs_in else 0.0

    def worst_stage(self) -> tuple[str, float] | None:
        """The stage that kept the smallest share of this language's documents, and that share."""
        shares = [(kept / reached, stage) for stage, (reached, kept) in self.per_stage.items() if reached]
        if not shares:
            return None
        share, stage = min(shares)
        return stage, share


@dataclass(frozen=True)
class Outlier:
    language: LanguageRetention
    median: float
    deviation: float


def language_retention(stats: list[StageStats]) -> list[LanguageRetention]:
    """Per language, from the stats rows that count languages: documents into the first such stage, kept by the
    last, and in -> kept at each; most documents first."""
    stages = [s for s in stats if s.languages and s.stage != "ingest"]
    if not stages:
        return []
    first, last = stages[0].languages["counts"], stages[-1].languages["counts"]
    out = []
    for lang, counts in first.items():
        per_stage = {}
        for s in stages:
            c = s.languages["counts"].get(lang, {"in": 0, "kept": 0})
            per_stage[s.stage] = (int(c["in"]), int(c["kept"]))
        kept = int(last.get(lang, {}).get("kept", 0))
        out.append(LanguageRetention(lang, int(counts["in"]), kept, per_stage))
    return sorted(out, key=lambda r: (-r.docs_in, r.lang))


def retention_outliers(
    languages: list[LanguageRetention],
    min_docs: int = MIN_OUTLIER_DOCS,
    deviations: float = OUTLIER_DEVIATIONS,
    min_gap: float = MIN_OUTLIER_GAP,
) -> list[Outlier]:
    """Languages (with at least `min_docs` documents) whose retention is far from the median language's: more than
    `deviations` x 1.4826 x the median absolute deviation, and at least `min_gap`; needs 5 such languages."""
    judged = [r for r in languages if r.docs_in >= min_docs]
    if len(judged) < 5:
        return []
    shares = [r.retention for r in judged]
    median = statistics.median(shares)
    spread = 1.4826 * statistics.median(abs(x - median) for x in shares)
    limit = max(deviations * spread, min_gap)
    found = [Outlier(r, median, r.retention - median) for r in judged if abs(r.retention - median) > limit]
    return sorted(found, key=lambda o: (-abs(o.deviation), o.language.lang))


def language_sections(data: RunData) -> list[Section]:
    """One section when a stage counts languages, none otherwise (the Languages section says why)."""
    languages = language_retention(data.stats)
    if not languages:
        return []
    parts = [*_largest(data, languages), *_per_stage(data, languages), *_outliers(languages)]
    return [Section("language-retention", "Retention per language", parts)]


def _largest(data: RunData, languages: list[LanguageRetention]) -> list[str]:
    sizes = data.language_sizes
    if not sizes:
        return []
    by_tokens = any(v.get("tokens") is not None for v in sizes.values())
    unit = "tokens" if by_tokens else "chars"
    total = sum(int(v.get(unit) or 0) for v in sizes.values())
    retention = {r.lang: r for r in languages}
    ranked = sorted(sizes.items(), key=lambda kv: (-int(kv[1].get(unit) or 0), kv[0]))[:TOP_LANGUAGES]
    rows = []
    for lang, size in ranked:
        r = retention.get(lang)
        amount = int(size.get(unit) or 0)
        rows.append(
            [
                lang,
                f"{amount:,}",
                percent(amount, total),
                f"{int(size['docs'] or 0):,}",
                f"{r.docs_in:,}" if r else "",
                percent(r.docs_kept, r.docs_in) if r else "",
            ]
        )
    label = "tokens (run.tokenizer)" if by_tokens else "characters (no run.tokenizer)"
    return [
        heading(f"Largest languages of the output by {label}"),
        table(
            ["language", f"kept {unit}", f"share of {unit}", "kept documents", "documents in", "documents kept"],
            rows,
            "language-sizes",
        ),
    ]


def _per_stage(data: RunData, languages: list[LanguageRetention]) -> list[str]:
    shown = languages[:TOP_LANGUAGES]
    stages = list(shown[0].per_stage) if shown else []
    rows = []
    for r in shown:
        cells: list[object] = [r.lang, f"{r.docs_in:,}"]
        for stage in stages:
            reached, kept = r.per_stage[stage]
            cells.append(percent(kept, reached) if reached else "")
        cells.append(percent(r.docs_kept, r.docs_in))
        rows.append(cells)
    if data.mode == "annotate":
        last = " (annotate mode: every document reaches every stage; the last column is the last stage's share)."
    else:
        last = "; the last column is the share of the language's documents kept in the end."
    note = "Share of each language's documents a stage kept, of those that reached it" + last
    more = (
        f" The {len(languages) - len(shown)} smaller languages are in the stats table."
        if len(languages) > len(shown)
        else ""
    )
    return [
        heading("Retention per language and stage"),
        table(["language", "documents in", *stages, "kept overall"], rows, "language-stages"),
        paragraph(note + more, "muted small"),
    ]


def _outliers(languages: list[LanguageRetention]) -> list[str]:
    found = retention_outliers(languages)
    judged = sum(1 for r in languages if r.docs_in >= MIN_OUTLIER_DOCS)
    if not found:
        return [
            heading("Languages whose retention is an outlier"),
            paragraph(
                f"None among the {judged} languages with at least {MIN_OUTLIER_DOCS} documents (an outlier's "
                f"retention is more than {OUTLIER_DEVIATIONS:g} robust standard deviations and "
                f"{MIN_OUTLIER_GAP:.0%} from the median language's; needs 5 such languages).",
                "muted small",
            ),
        ]
    rows = []
    for o in found:
        worst = o.language.worst_stage()
        rows.append(
            [
                o.language.lang,
                f"{o.language.docs_in:,}",
                f"{o.language.retention:.1%}",
                f"{o.median:.1%}",
                f"{o.deviation:+.1%}",
                f"{worst[0]} (kept {worst[1]:.1%})" if worst else "",
            ]
        )
    return [
        heading("Languages whose retention is an outlier"),
        table(
            ["language", "documents in", "kept", "median language", "difference", "stage keeping least"],
            rows,
            "language-outliers",
        ),
        paragraph(
            f"Of the {judged} languages with at least {MIN_OUTLIER_DOCS} documents: retention more than "
            f"{OUTLIER_DEVIATIONS:g} robust standard deviations (1.4826 x median absolute deviation) and "
            f"{MIN_OUTLIER_GAP:.0%} from the median language's. A low outlier often means a threshold that does not "
            "suit the language (check the stage keeping least); a high one, rules that do not apply to it.",
            "muted small",
        ),
    ]
