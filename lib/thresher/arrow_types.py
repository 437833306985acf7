"""Spark <-> Arrow type conversion across PySpark versions (Databricks runtimes bring their own PySpark).

PySpark 4.2 needs the session time zone to convert timestamps; older versions take no such argument.
"""

from __future__ import annotations

import pyarrow as pa
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema, to_arrow_type
from pyspark.sql.types import DataType, StructType


def arrow_schema(schema: StructType) -> pa.Schema:
    try:
        return to_arrow_schema(schema, timezone="UTC")
    except TypeError:
        return to_arrow_schema(schema)


def arrow_type(data_type: DataType) -> pa.DataType:
    try:
        return to_arrow_type(data_type, timezone="UTC")
    except TypeError:
        return to_arrow_type(data_type)


def spark_schema(schema: pa.Schema) -> StructType:
    """Arrow -> Spark; timestamps with a time zone become Spark TIMESTAMP (not TIMESTAMP_NTZ)."""
    try:
        return from_arrow_schema(schema, prefer_timestamp_ntz=False)
    except TypeError:
        return from_arrow_schema(schema)
