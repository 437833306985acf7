"""Run limits: a run whose input is mostly quarantined, or whose stages raise on many documents, fails.

Quarantine and per-document stage errors keep one bad record from failing a job over billions; but when
they become a large share, the output is wrong without a word (a CSV read as jsonl quarantines everything,
a bug in a stage drops every document). `run.max_quarantine_fraction` and `run.max_error_fraction` bound
them; the runner checks the stats rows of every stage as they are committed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from thresher.core.records import StageStats
from thresher.errors import ThresherError
from thresher.stats import skipped_total

# Reasons of documents on which a stage raised: `stage_error:<Exception>` (see thresher.stages.fused).
STAGE_ERROR_PREFIX = "stage_error"


class RunLimitError(ThresherError):
    """A run passed one of its configured limits (quarantine share, stage-error share)."""


def check_quarantine(ingest: StageStats, max_fraction: float, worst_file: Callable[[], str] | None = None) -> None:
    """Raise when the share of quarantined input records passes `max_fraction`; `worst_file` (called only then)
    names the file most of them came from (thresher.quarantine_files)."""
    # Records skipped by design (WARC requests, non-HTML responses, ...) are excluded at ingest but not bad input.
    records, quarantined = ingest.docs_in, ingest.docs_excluded - skipped_total(ingest)
    if records and quarantined / records > max_fraction:
        reasons = _top_reasons(ingest.reason_counts)
        where = worst_file() if worst_file is not None else ""
        raise RunLimitError(
            f"{quarantined} of {records} input records ({quarantined / records:.1%}) were quarantined ({reasons}), "
            f"more than run.max_quarantine_fraction={max_fraction}{where}; check input.format and input.fields, "
            "or raise the limit (--set run.max_quarantine_fraction=...)"
        )


def check_stage_errors(stage: StageStats, max_fraction: float) -> None:
    """Raise when a stage raised on more than `max_fraction` of the documents handed to it."""
    docs_in = stage.docs_in
    errors = {reason: count for reason, count in stage.reason_counts.items() if reason.startswith(STAGE_ERROR_PREFIX)}
    failed = sum(errors.values())
    if docs_in and failed / docs_in > max_fraction:
        raise RunLimitError(
            f"stage {stage.stage} raised on {failed} of {docs_in} documents ({failed / docs_in:.1%}: "
            f"{_top_reasons(errors)}), more than run.max_error_fraction={max_fraction}; the executor log has the "
            "exceptions"
        )


def _top_reasons(counts: Mapping[str, int], top: int = 3) -> str:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{reason} {count}" for reason, count in ordered[:top])
    if len(ordered) > top:
        text += f", +{len(ordered) - top} more"
    return text or "no reasons recorded"
