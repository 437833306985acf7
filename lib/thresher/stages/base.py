"""The stage API: every filter, annotator and selector is a `RowStage` or a `GlobalStage`.

A stage computes signals and a decision for each document and records them in a struct column named after
the stage id: `keep` (bool), `reason` (short categorical code, null when kept) and its signals.

* `RowStage`: a pure per-document computation over Arrow batches (`process`). Consecutive row stages are
  fused by the runner into one pass over the data that shares per-document work (splitting into words,
  lines, ...) through `DocBatch.per_doc`. Unit-testable without Spark through `thresher.stages.fused`.
* `GlobalStage`: needs the whole corpus (dedup, selection, corpus statistics); `apply(df, ctx)` returns
  `(frame, StageReport)`: `df` with its struct column added (Spark shuffles, never `collect()` of
  document-scale data) and the figures (`metrics`) and JSON details (`details`) the stats table and report show.

Stage authors import everything from this module; the bottom-floor pieces (Mode, worker_resource, ConfigPath,
StageParams, StageReport, Scratch) live in `thresher.core` and are re-exported here.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pyspark.sql.types import StructField, StructType

from thresher.core.modes import Mode
from thresher.core.params import StageParams
from thresher.core.paths import ConfigPath, resolve_path
from thresher.core.records import StageReport
from thresher.core.resources import worker_resource
from thresher.core.scratch import Scratch
from thresher.schema import DECISION_FIELDS, REWRITE_FIELDS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from thresher.stages.fused import DocBatch

# Re-exported for stage authors: a stage module needs only `thresher.stages.base`.
__all__ = [
    "ConfigPath",
    "GlobalStage",
    "Mode",
    "RowStage",
    "Scratch",
    "Stage",
    "StageContext",
    "StageParams",
    "StageReport",
    "StageResult",
    "resolve_path",
    "worker_resource",
]


@dataclass
class StageResult:
    """What a row stage decided for the documents of one `DocBatch`, in the batch's order."""

    keep: Sequence[bool]
    reason: Sequence[str | None]
    signals: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    # New texts, for stages with `rewrites_text = True`; None leaves the texts as they were.
    text: Sequence[str] | None = None


class Stage(ABC):
    """Common part of row and global stages."""

    id: ClassVar[str]
    Params: ClassVar[type[StageParams]] = StageParams
    # Stage ids that must run earlier in the same pipeline (checked when the config is loaded).
    requires: ClassVar[tuple[str, ...]] = ()
    rewrites_text: ClassVar[bool] = False

    def __init__(self, params: StageParams | None = None) -> None:
        self.params = params if params is not None else self.Params()

    @abstractmethod
    def signal_fields(self) -> list[StructField]:
        """The struct fields this stage writes besides `keep` and `reason`."""

    def result_type(self) -> StructType:
        fields = [*DECISION_FIELDS, *self.signal_fields()]
        if self.rewrites_text:
            fields.extend(REWRITE_FIELDS)
        return StructType(fields)

    def needs_tokenizer(self) -> bool:
        """Whether the stage counts tokens with `run.tokenizer` (the config is refused without one)."""
        return False

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        """Configured (low, high) bounds per signal, drawn on the report's histograms."""
        return {}

    def fingerprint(self) -> str:
        payload = json.dumps({"stage": self.id, "params": self.params.model_dump(mode="json")}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"


class RowStage(Stage):
    """A per-document stage; fused with its row-stage neighbours into one pass over Arrow batches."""

    def setup(self) -> None:
        """Load models or lists; called once per Python worker before the first batch (never on the driver)."""

    @abstractmethod
    def process(self, batch: DocBatch) -> StageResult:
        """Decide for every document of `batch`."""


class GlobalStage(Stage):
    """A stage that needs the whole corpus; runs as Spark DataFrame operations.

    Porting a stage written against the earlier contract (`apply` returned the frame and wrote
    `ctx.metrics[...]` / `ctx.details[...]`): make `report = StageReport()` at the start of `apply`, write
    `report.metrics[...]` / `report.details[...]` instead, and `return frame, report`. Library functions that
    took the context take `ctx.scratch_space`.
    """

    @abstractmethod
    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        """Return `df` with the struct column `self.id` added (and `text` replaced if it rewrites text), and a
        `StageReport` of stage-specific figures (`metrics`, e.g. components, candidate pairs) and JSON details
        (`details`, e.g. a histogram of cluster sizes) for the stats table and the report.

        The frame must have exactly the rows of `df`: the runner checks it. Intermediate tables go to
        `ctx.materialize(frame, name)` (or `ctx.scratch_space`, a `Scratch` that library functions take);
        they are removed once the stage's checkpoint commits. Return `StageReport()` when there is nothing to
        report. A stage never mutates the context.
        """


@dataclass
class StageContext:
    """What a global stage gets from the runner on the driver."""

    spark: SparkSession
    run_id: str
    mode: Mode
    seed: int
    scratch_dir: str
    # The tokenizer file of `run.tokenizer` (count with `thresher.token_columns.token_count`), or None.
    tokenizer: str | None = None

    @property
    def scratch_space(self) -> Scratch:
        """The stage's scratch folder, as library functions (`thresher.dedup`, `thresher.select`) take it."""
        return Scratch(self.spark, self.scratch_dir)

    def scratch(self, name: str) -> str:
        return self.scratch_space.path(name)

    def materialize(self, df: DataFrame, name: str) -> DataFrame:
        """Write `df` to scratch Parquet and read it back (see `Scratch.materialize`); scratch data of a stage
        is removed once the stage commits."""
        return self.scratch_space.materialize(df, name)
