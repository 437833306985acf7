"""Scratch space of a global stage: `materialize` cuts the lineage of iterative algorithms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class Scratch:
    """A folder for one stage's intermediate tables, removed by the runner once the stage commits."""

    spark: SparkSession
    root: str

    def path(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{name}"

    def materialize(self, df: DataFrame, name: str) -> DataFrame:
        """Write `df` to scratch Parquet and read it back: cuts the lineage of iterative algorithms and makes
        the result stable under task retries."""
        path = self.path(name)
        df.write.mode("overwrite").parquet(path)
        return self.spark.read.parquet(path)
