"""A run's checkpoints: which committed ones can be reused, committing new ones, and removing only what thresher
wrote.

A checkpoint folder `checkpoints/<NN_name>/` is thresher's when it holds the marker `_segment.json` (written
before anything else goes into the folder: what produced the checkpoint and when it started) or only the
temporary file of that marker's atomic write. A checkpoint is committed when its marker and its Delta commit
both exist. Folders without the marker are never deleted: a planned checkpoint's place taken by such a folder
stops the run with a message; any other such folder is left alone.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame

from thresher.core.records import SegmentRecord
from thresher.errors import ResumeError
from thresher.io import fs
from thresher.io.delta import DeltaStore
from thresher.io.layout import INGEST_SEGMENT, OutputLayout
from thresher.plan import Plan

log = logging.getLogger("thresher")

_MARKER = "_segment.json"
# Parquet row groups of checkpoint files. Spark splits a Parquet file across tasks only at row group bounds: with
# Parquet's default (128 MiB) the checkpoint of a task that read one large compressed file (one .jsonl.gz, one
# WARC) is one row group, and every segment after it runs as one task on one core. At 8 MiB the next segment's
# read is cut into about as many splits as the cluster has cores (Spark sizes splits by bytes per core).
CHECKPOINT_ROW_GROUP_BYTES = 8 << 20
_DELTA_LOG = "_delta_log"
_FIRST_COMMIT = "00000000000000000000.json"


@dataclass(frozen=True)
class Step:
    """One segment of the run's loop: ingest (segment 0) or a segment of the plan."""

    name: str
    fingerprint: str
    # Parameters per stage id, recorded in the marker to name what changed when a resume is refused.
    params: dict[str, dict[str, Any]]

    def info(self) -> dict[str, Any]:
        """The marker's content (the checkpoint's `describe()`; ingest has no stages)."""
        return {"name": self.name, "fingerprint": self.fingerprint, "stages": self.params}


def steps_of(plan: Plan) -> list[Step]:
    ingest = Step(INGEST_SEGMENT, plan.ingest_fingerprint, {})
    return [ingest, *(Step(s.name, s.fingerprint, s.describe()["stages"]) for s in plan.segments)]


class Checkpoints:
    def __init__(self, layout: OutputLayout, store: DeltaStore) -> None:
        self.layout = layout
        self.store = store

    # -- what is there -----------------------------------------------------------------------------------------

    def committed(self, name: str) -> bool:
        return fs.exists(self.layout.segment_info(name)) and self.store.exists(self.layout.checkpoint(name))

    def is_ours(self, name: str) -> bool:
        """True when thresher can prove it wrote the folder: its marker, or only the marker's temporary file."""
        names = fs.list_dir(self.layout.checkpoint(name))
        return _MARKER in names or (bool(names) and all(n.startswith(f"{_MARKER}.tmp-") for n in names))

    def read(self, name: str) -> DataFrame:
        return self.store.read(self.layout.checkpoint(name))

    def reusable(self, plan: Plan) -> set[str]:
        """The committed checkpoints of this plan that a run reuses. Uncommitted leftovers of thresher's own
        (a killed run) are removed, from the first checkpoint that is not committed on; a checkpoint committed
        with other settings or by another pipeline stops the run with a message naming what changed."""
        steps = steps_of(plan)
        expected = {step.name for step in steps}
        for name in self.layout.existing_checkpoints():
            if name in expected:
                continue
            if self.committed(name):
                raise ResumeError(
                    f"{self.layout.checkpoint(name)} was committed by a pipeline with other stages than this one "
                    f"({', '.join(plan.stage_ids()) or 'no stages'}); use a new --output directory, or delete "
                    "that checkpoint and every later one to recompute from there"
                )
            if self.is_ours(name):
                fs.delete(self.layout.checkpoint(name))
            else:
                log.warning("%s: not written by thresher (no %s); left alone", self.layout.checkpoint(name), _MARKER)
        reusable: set[str] = set()
        stale = False
        for step in steps:
            if stale or not self.committed(step.name):
                stale = True
                self.discard(step.name)
                continue
            info = json.loads(fs.read_text(self.layout.segment_info(step.name)))
            if info["fingerprint"] != step.fingerprint:
                raise ResumeError(self._describe_change(step, info))
            reusable.add(step.name)
        return reusable

    def recorded(self, name: str) -> SegmentRecord:
        """What the committed checkpoint itself says about how it was produced, for a checkpoint whose run was
        killed before recording it in the manifest: the start written in its marker and the time of its Delta
        commit. Absent when unknown (a marker of an older version has no start)."""
        info = json.loads(fs.read_text(self.layout.segment_info(name)))
        started = info.get("started_at")
        commit = fs.list_files(fs.join(self.layout.checkpoint(name), _DELTA_LOG, _FIRST_COMMIT))
        finished = datetime.fromtimestamp(commit[0].mtime_ms / 1000, UTC) if commit else None
        wall = None
        if started is not None and finished is not None:
            wall = max(0.0, (finished - datetime.fromisoformat(started)).total_seconds())
        return SegmentRecord(
            fingerprint=info.get("fingerprint"),
            wall_seconds=wall,
            started_at=started,
            finished_at=finished.isoformat() if finished is not None and started is not None else None,
        )

    # -- writing ---------------------------------------------------------------------------------------------

    def discard(self, name: str) -> None:
        """Remove an uncommitted checkpoint folder of thresher's; refuse to touch one thresher did not write."""
        path = self.layout.checkpoint(name)
        if not fs.exists(path):
            return
        if not self.is_ours(name):
            raise ResumeError(
                f"{path} is where this run commits its checkpoint {name}, but thresher did not write what is "
                f"there (no {_MARKER}); move it away, or use another --output directory"
            )
        fs.delete(path)

    def begin(self, step: Step, started_at: datetime) -> None:
        """Start computing `step`: remove thresher's leftovers of it and write its marker (with the start)."""
        self.discard(step.name)
        fs.delete(self.layout.scratch(step.name))
        info = {**step.info(), "started_at": started_at.isoformat()}
        fs.write_text_atomic(self.layout.segment_info(step.name), json.dumps(info, indent=2) + "\n")

    def commit(self, name: str, frame: DataFrame) -> DataFrame:
        """Commit `frame` as the checkpoint (one Delta commit) and read it back; scratch data goes."""
        path = self.layout.checkpoint(name)
        self.store.write(frame, path, mode="error", row_group_bytes=CHECKPOINT_ROW_GROUP_BYTES)
        fs.delete(self.layout.scratch(name))
        return self.store.read(path)

    def _describe_change(self, step: Step, info: dict[str, Any]) -> str:
        if step.name == INGEST_SEGMENT:
            what = "the input (files added, removed or modified, or input settings changed)"
        else:
            changes = [
                f"stages.{stage}.{key}: {old.get(key)!r} -> {new.get(key)!r}"
                for stage, new in step.params.items()
                for old in [info.get("stages", {}).get(stage, {})]
                for key in sorted(set(old) | set(new))
                if old.get(key) != new.get(key)
            ]
            what = "; ".join(changes) or "the settings of an earlier stage, the mode or run.tokenizer"
        return (
            f"checkpoint {step.name} in {self.layout.root} was committed with other settings: {what}. "
            f"To recompute from there, delete {self.layout.checkpoint(step.name)} and every later checkpoint; "
            "for a separate run use a new --output directory"
        )
