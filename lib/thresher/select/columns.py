"""Columns a selection stage reads from earlier stages (dotted paths into structs and maps)."""

from __future__ import annotations

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DataType

from thresher.errors import ThresherError


def require_column(df: DataFrame, path: str, stage_id: str, what: str) -> DataType:
    """The type of `path` in `df`, or a ThresherError naming the missing column and where it should come from."""
    try:
        return df.select(F.col(path).alias("_probe")).schema["_probe"].dataType
    except AnalysisException:
        raise ThresherError(
            f"stage {stage_id}: no column {path!r} ({what}); run the stage that writes it earlier in this pipeline "
            f"or in the run you select from (top-level columns: {', '.join(df.columns)})"
        ) from None
