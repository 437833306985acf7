"""The run's plan: stages grouped into segments, each one pass over the data and one checkpoint.

A segment is either a run of consecutive row stages (fused into a single pass when `run.fuse_row_stages`) or
one global stage. Fingerprints chain: a segment's fingerprint covers its stages' parameters, the mode and the
fingerprint of everything before it, so a resumed run reuses a checkpoint only when all that produced it is
unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from thresher.conf import PipelineConfig
from thresher.errors import ConfigError
from thresher.stages.base import RowStage, Stage


@dataclass(frozen=True)
class Segment:
    index: int
    stages: tuple[Stage, ...]
    fingerprint: str

    @property
    def name(self) -> str:
        return f"{self.index:02d}_{'+'.join(s.id for s in self.stages)}"

    @property
    def is_row_pass(self) -> bool:
        return all(isinstance(s, RowStage) for s in self.stages)

    @property
    def last(self) -> Stage:
        return self.stages[-1]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "fingerprint": self.fingerprint,
            "stages": {s.id: s.params.model_dump(mode="json") for s in self.stages},
        }


@dataclass(frozen=True)
class Plan:
    ingest_fingerprint: str
    segments: tuple[Segment, ...]

    def stage_ids(self) -> list[str]:
        return [s.id for seg in self.segments for s in seg.stages]

    def stages_before(self, segment: Segment) -> list[Stage]:
        """The stages of the segments that run before `segment` (their columns reach it)."""
        return [s for earlier in self.segments[: segment.index - 1] for s in earlier.stages]

    def segment_of(self, stage_id: str) -> Segment:
        """The segment that runs `stage_id` (with fused row stages, the whole pass that contains it)."""
        check_until(stage_id, self.stage_ids())
        return next(seg for seg in self.segments if any(s.id == stage_id for s in seg.stages))


def check_until(stage_id: str, stage_ids: list[str]) -> None:
    """Raise a ConfigError unless `stage_id` is one of the pipeline's stages (checked before Spark starts)."""
    if stage_id not in stage_ids:
        raise ConfigError(
            f"--until {stage_id}: not a stage of this pipeline; its stages are: {', '.join(stage_ids) or '(none)'}"
        )


def _chain(previous: str, payload: object) -> str:
    text = json.dumps({"previous": previous, "payload": payload}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _file_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_plan(config: PipelineConfig, input_fingerprint: str) -> Plan:
    ingest = _chain("", {"input": input_fingerprint})
    groups: list[list[Stage]] = []
    for spec in config.stages:
        stage = spec.stage
        fusable = isinstance(stage, RowStage) and config.run.fuse_row_stages
        if fusable and groups and all(isinstance(s, RowStage) for s in groups[-1]):
            groups[-1].append(stage)
        else:
            groups.append([stage])
    segments = []
    previous = ingest
    # Token counts recorded in checkpoints depend on the tokenizer file's content (absent: as before).
    tokenizer = _file_digest(config.run.tokenizer) if config.run.tokenizer else None
    for index, group in enumerate(groups, start=1):
        payload: dict[str, object] = {"mode": config.run.mode, "stages": [s.fingerprint() for s in group]}
        if tokenizer is not None:
            payload["tokenizer"] = tokenizer
        fingerprint = _chain(previous, payload)
        segments.append(Segment(index, tuple(group), fingerprint))
        previous = fingerprint
    return Plan(ingest, tuple(segments))
