"""The dedup stages' side of the dedup index (thresher.dedup.index): the `index` / `update_index` parameters, and
the end-of-run commit the runner calls once the final tables are written."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import reduce
from typing import Any

from pydantic import Field, model_validator
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from thresher.dedup.index import DedupIndex, IndexUse
from thresher.schema import DOC_ID, KEEP
from thresher.stages.base import ConfigPath, Stage, StageContext, StageParams


class IndexParams(StageParams):
    """Parameters of the dedup stages that can deduplicate against earlier runs."""

    index: ConfigPath | None = Field(
        default=None,
        description="Dedup index (a Delta table of the documents earlier runs kept): a document matching one of "
        "them is excluded with reason duplicate_of_earlier_run. Created by the first run that updates it.",
    )
    update_index: bool | None = Field(
        default=None,
        description="Add this run's kept documents to the index in one commit at the end of the run (default: "
        "true when index is set); false reads the index only (a dry run).",
    )

    @model_validator(mode="after")
    def _update_needs_index(self) -> IndexParams:
        if self.update_index is not None and self.index is None:
            raise ValueError("update_index needs index: the path of the dedup index")
        index = str(self.index) if self.index is not None else None
        if index is not None and "://" not in index and os.path.exists(index) and not os.path.isdir(index):
            raise ValueError(f"index {index!r} is a file; the dedup index is a directory (a Delta table)")
        return self

    @property
    def updates_index(self) -> bool:
        return self.index is not None and self.update_index is not False


def open_index(
    params: IndexParams, ctx: StageContext, stage_id: str, kind: str, settings: dict[str, Any]
) -> IndexUse | None:
    """The stage's use of its index in this run (the lease taken when it updates it), or None without one."""
    if params.index is None:
        return None
    return IndexUse.open(ctx.spark, params.index, ctx.run_id, stage_id, kind, settings, params.updates_index)


def dedup_index_paths(stages: Sequence[Stage]) -> list[str]:
    """The dedup indexes the stages read or update."""
    return [str(s.params.index) for s in stages if isinstance(s.params, IndexParams) and s.params.index is not None]


def update_dedup_indexes(
    spark: SparkSession, stages: Sequence[Stage], run_id: str, kept: DataFrame, output: str
) -> dict[str, dict[str, Any]]:
    """Add the documents the run kept (decided kept by every stage) to the indexes of the stages that update one:
    one Delta commit per index. Called at the end of the run, after the final tables."""
    stage_ids_by_index: dict[str, list[str]] = {}
    for stage in stages:
        if isinstance(stage.params, IndexParams) and stage.params.updates_index:
            stage_ids_by_index.setdefault(str(stage.params.index), []).append(stage.id)
    if not stage_ids_by_index:
        return {}
    decided = [s.id for s in stages if s.id in kept.columns]
    kept_by_all = reduce(
        lambda acc, stage_id: acc & F.coalesce(F.col(stage_id).getField(KEEP), F.lit(True)), decided, F.lit(True)
    )
    kept_ids = kept.where(kept_by_all).select(DOC_ID)
    results = {}
    for path, stage_ids in stage_ids_by_index.items():
        commit = DedupIndex(spark, path).commit(run_id, stage_ids, kept_ids, output)
        results[path] = {"status": commit.status, "version": commit.version, "documents_added": commit.documents_added}
    return results
