"""Typed run records: the manifest (what a run is and how far it got), one record per committed segment, one
statistics row per (run, stage), and what a global stage reports besides its frame.

The on-disk formats are unchanged: `Manifest.to_dict` writes the keys manifest.json always had (unknown keys
of a newer or older writer are kept as they were), and `StageStats.to_row` / `from_row` map to the columns of
the stats table (`thresher.schema.STATS_SCHEMA`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

RunStatus = str  # "running" | "partial" | "succeeded" | "failed"


@dataclass
class StageReport:
    """What a global stage reports besides its output frame: figures for the stats table's `metrics` column
    (e.g. components, candidate pairs) and JSON-serialisable details for the report (e.g. histograms)."""

    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class SegmentRecord:
    """manifest.json's `segments[<name>]`: how a committed segment was produced and how long it took.

    Timings are absent (None) when they are not known, e.g. for a checkpoint committed by a run that was
    killed before it could record them; they are never made up."""

    fingerprint: str | None = None
    wall_seconds: float | None = None
    started_at: str | None = None
    finished_at: str | None = None
    # Wall seconds per stage (a fused pass's time split by the compute time its workers measured per stage).
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # Compute seconds the Python workers measured per stage of a row pass.
    stage_cpu_seconds: dict[str, float] = field(default_factory=dict)
    # What a global stage reported (`StageReport`), kept so that stats made after a kill still carry it.
    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    stats_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmentRecord:
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(
            **{k: v for k, v in data.items() if k in known},
            extra={k: v for k, v in data.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fingerprint": self.fingerprint}
        for name in ("wall_seconds", "started_at", "finished_at", "stats_seconds"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        for name in ("stage_seconds", "stage_cpu_seconds", "metrics", "details"):
            value = getattr(self, name)
            if value:
                out[name] = dict(value)
        return {**self.extra, **out}


_MANIFEST_ORDER = (
    "run_id",
    "status",
    "created_at",
    "config_path",
    "config",
    "input_fingerprint",
    "input_files",
    "versions",
    "table_format",
    "spark_master",
    "command",
    "segments",
    "totals",
    "input_file_count",
    "error",
    "stopped_after",
    "tables",
    "updated_at",
    "dedup_indexes",
)
# Written only when set, as they always were.
_OPTIONAL_MANIFEST_KEYS = frozenset(
    {"input_file_count", "error", "stopped_after", "tables", "updated_at", "dedup_indexes"}
)


@dataclass
class Manifest:
    """manifest.json: config as resolved, versions, input fingerprint, segments and totals of one run."""

    run_id: str
    status: RunStatus = "running"
    created_at: str | None = None
    config_path: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    input_fingerprint: str | None = None
    input_files: list[dict[str, Any]] = field(default_factory=list)
    versions: dict[str, str | None] = field(default_factory=dict)
    table_format: str | None = None
    spark_master: str | None = None
    command: list[str] = field(default_factory=list)
    segments: dict[str, SegmentRecord] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    input_file_count: int | None = None
    error: str | None = None
    stopped_after: str | None = None
    tables: dict[str, str] | None = None
    updated_at: str | None = None
    # Per dedup index path: the end-of-run commit of this run's kept documents (status, version, documents_added).
    dedup_indexes: dict[str, dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return (self.config.get("run") or {}).get("mode", "filter")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        known = set(_MANIFEST_ORDER)
        values = {k: v for k, v in data.items() if k in known}
        values["segments"] = {
            name: SegmentRecord.from_dict(info) for name, info in (data.get("segments") or {}).items()
        }
        values["totals"] = dict(data.get("totals") or {})
        return cls(**values, extra={k: v for k, v in data.items() if k not in known})

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        return cls.from_dict(json.loads(text))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in _MANIFEST_ORDER:
            value = getattr(self, name)
            if name == "segments":
                value = {k: v.to_dict() for k, v in value.items()}
            if value is None and name in _OPTIONAL_MANIFEST_KEYS:
                continue
            out[name] = value
        return {**out, **self.extra}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, default=str) + "\n"


@dataclass
class StageStats:
    """One row of the stats table: what a stage (or ingest) did in a run.

    `signals` (per numeric or boolean signal: quantiles, histogram, mean), `details` (what a global stage
    reported) and `languages` travel in the table's JSON column `signals`; wall time and its timestamps are None
    when unknown (docs_per_second is then None too)."""

    run_id: str
    stage_index: int
    stage: str
    segment: str
    mode: str
    docs_in: int
    docs_out: int
    docs_excluded: int
    docs_flagged: int
    chars_in: int
    chars_out: int
    words_in: int
    words_out: int
    # Tokens of run.tokenizer; None without a tokenizer or when not known exactly.
    tokens_in: int | None = None
    tokens_out: int | None = None
    reason_counts: dict[str, int] = field(default_factory=dict)
    signals: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    languages: dict[str, Any] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    wall_seconds: float | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # Other keys of the JSON column, kept as they were.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def docs_per_second(self) -> float | None:
        if self.wall_seconds is None or self.wall_seconds <= 0:
            return None
        return self.docs_in / self.wall_seconds

    def __getitem__(self, column: str) -> Any:
        """A column of the stats table's row (`stats["docs_in"]`), for code written against table rows."""
        return self.to_row()[column]

    def to_row(self) -> dict[str, Any]:
        """The stats table's columns (`thresher.schema.STATS_SCHEMA`)."""
        blob: dict[str, Any] = {"signals": self.signals, "details": self.details, **self.extra}
        if self.languages is not None:
            blob["languages"] = self.languages
        return {
            "run_id": self.run_id,
            "stage_index": self.stage_index,
            "stage": self.stage,
            "segment": self.segment,
            "mode": self.mode,
            "docs_in": self.docs_in,
            "docs_out": self.docs_out,
            "docs_excluded": self.docs_excluded,
            "docs_flagged": self.docs_flagged,
            "chars_in": self.chars_in,
            "chars_out": self.chars_out,
            "words_in": self.words_in,
            "words_out": self.words_out,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "reason_counts": dict(self.reason_counts),
            "signals": json.dumps(blob, default=float),
            "metrics": {k: float(v) for k, v in self.metrics.items()},
            "wall_seconds": self.wall_seconds,
            "docs_per_second": self.docs_per_second,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StageStats:
        blob = json.loads(row.get("signals") or "{}")
        return cls(
            run_id=row["run_id"],
            stage_index=int(row["stage_index"]),
            stage=row["stage"],
            segment=row["segment"],
            mode=row["mode"],
            docs_in=int(row["docs_in"]),
            docs_out=int(row["docs_out"]),
            docs_excluded=int(row["docs_excluded"]),
            docs_flagged=int(row["docs_flagged"]),
            chars_in=int(row["chars_in"]),
            chars_out=int(row["chars_out"]),
            words_in=int(row["words_in"]),
            words_out=int(row["words_out"]),
            tokens_in=_optional_int(row.get("tokens_in")),
            tokens_out=_optional_int(row.get("tokens_out")),
            reason_counts=dict(row.get("reason_counts") or {}),
            signals=blob.pop("signals", {}) or {},
            details=blob.pop("details", {}) or {},
            languages=blob.pop("languages", None),
            metrics=dict(row.get("metrics") or {}),
            wall_seconds=row.get("wall_seconds"),
            started_at=row.get("started_at"),
            finished_at=row.get("finished_at"),
            extra=blob,
        )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
