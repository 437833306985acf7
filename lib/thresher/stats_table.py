"""The stats/ table of a run's output: exactly one row per (run, stage), also after a recompute."""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from thresher.core.records import StageStats
from thresher.io.delta import DeltaStore
from thresher.schema import STATS_SCHEMA


class StatsTable:
    """The rows of one run, kept in memory as they are committed to the table at `path`."""

    def __init__(self, spark: SparkSession, store: DeltaStore, path: str, run_id: str) -> None:
        self.spark = spark
        self.store = store
        self.path = path
        self.run_id = run_id
        self.rows: dict[str, StageStats] = {}
        if store.exists(path):
            committed = store.read(path).where(F.col("run_id") == run_id).collect()
            self.rows = {r["stage"]: StageStats.from_row(r.asDict(recursive=True)) for r in committed}
        # Stages whose committed rows describe a computation that is being redone: replaced when written.
        self._superseded: set[str] = set()

    def __contains__(self, stage: str) -> bool:
        return stage in self.rows

    def __getitem__(self, stage: str) -> StageStats:
        return self.rows[stage]

    def discard(self, stages: Iterable[str]) -> None:
        """Forget the rows of `stages` (their checkpoint is recomputed); the next `write` replaces them."""
        for stage in stages:
            if self.rows.pop(stage, None) is not None:
                self._superseded.add(stage)

    def write(self, rows: list[StageStats]) -> None:
        """Commit `rows`. Rows of the same (run, stage) committed before are replaced (the table is small: the
        replacement rewrites it in one overwrite commit), so the table never holds two rows of one stage."""
        self.store.remove_unfinished_writes(self.path)
        new = {r.stage for r in rows}
        replaced = new & self._superseded
        if replaced:
            kept = [
                StageStats.from_row(r.asDict(recursive=True))
                for r in self.store.read(self.path).collect()
                if not (r["run_id"] == self.run_id and r["stage"] in replaced)
            ]
            frame = self.spark.createDataFrame([r.to_row() for r in [*kept, *rows]], STATS_SCHEMA).coalesce(1)
            self.store.write(frame, self.path, mode="overwrite")
        else:
            self.store.append_rows([r.to_row() for r in rows], STATS_SCHEMA, self.path)
        self._superseded -= new
        for row in rows:
            self.rows[row.stage] = row

    def ordered(self, before_index: int | None = None) -> list[StageStats]:
        rows = [r for r in self.rows.values() if before_index is None or r.stage_index < before_index]
        return sorted(rows, key=lambda r: r.stage_index)
