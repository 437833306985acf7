"""Delta tables, written and read two ways.

* `delta-spark`: when the Delta Lake JVM classes are on the session's classpath (Databricks, clusters started
  with `--packages io.delta:delta-spark_2.13:...`), Spark writes and reads Delta itself.
* `delta-rs`: elsewhere (a laptop, CI, clusters without the jars) Spark writes Parquet into a new
  sub-directory of the table (one per commit) and the `deltalake` package commits those files. delta-rs
  does not validate schemas on this path, so appends are checked here. Snapshots are read with
  `spark.read.parquet(*DeltaTable(root).file_uris())`: reading the directory would also read removed files.
"""

from __future__ import annotations

import json
import posixpath
import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Literal
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from thresher.arrow_types import arrow_schema, spark_schema
from thresher.errors import SchemaMismatchError, ThresherError
from thresher.io import fs, objectstore
from thresher.spark import has_delta_jvm

WriteMode = Literal["error", "append", "overwrite"]
TableFormat = Literal["delta-spark", "delta-rs"]
_HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


# The folder of one delta-rs commit's Parquet files inside a table (see `_write_delta_rs`).
_COMMIT_DIR_PREFIX = "part-"
_COMMIT_DIR = re.compile(r"part-[0-9a-f]{16}")


def resolve_format(spark: SparkSession, requested: str) -> TableFormat:
    if requested == "auto":
        return "delta-spark" if has_delta_jvm(spark) else "delta-rs"
    if requested == "delta-spark" and not has_delta_jvm(spark):
        raise ThresherError(
            "run.table_format is delta-spark but the Delta Lake JVM classes are not on the classpath; start Spark "
            "with --packages io.delta:delta-spark_2.13:<version> (see README) or use table_format: auto"
        )
    return requested  # type: ignore[return-value]


class DeltaStore:
    """Writes and reads the Delta tables of a run."""

    def __init__(self, spark: SparkSession, table_format: TableFormat, storage_options: dict[str, str] | None = None):
        self.spark = spark
        self.format = table_format
        self.storage_options = storage_options

    def _options(self, root: str) -> dict[str, str] | None:
        """delta-rs storage options: the ones given, else the object-store mapping's for `root`."""
        return self.storage_options if self.storage_options is not None else objectstore.storage_options(root)

    # -- queries ---------------------------------------------------------------------------------------------

    def exists(self, root: str) -> bool:
        if self.format == "delta-spark":
            from delta.tables import DeltaTable as SparkDeltaTable

            return bool(SparkDeltaTable.isDeltaTable(self.spark, root))
        from deltalake import DeltaTable

        return DeltaTable.is_deltatable(root, storage_options=self._options(root))

    def version(self, root: str) -> int | None:
        if not self.exists(root):
            return None
        if self.format == "delta-spark":
            from delta.tables import DeltaTable as SparkDeltaTable

            history = SparkDeltaTable.forPath(self.spark, root).history(1).select("version").collect()
            return int(history[0][0])
        from deltalake import DeltaTable

        return DeltaTable(root, storage_options=self._options(root)).version()

    def read(self, root: str, with_file_metadata: bool = False) -> DataFrame:
        """The table's current snapshot; `with_file_metadata` adds `_file` (data file) and `_row` (row index in
        that file), which identify a row deterministically."""
        if not self.exists(root):
            raise ThresherError(f"no Delta table at {root}")
        if self.format == "delta-spark":
            frame = self.spark.read.format("delta").load(root)
            return _with_file_metadata(frame) if with_file_metadata else frame
        return self._read_delta_rs(root, with_file_metadata)

    def count(self, root: str) -> int:
        """Rows of the table's current snapshot. delta-rs: the row counts its data files' Parquet footers gave
        the commits (no Spark job); Delta Lake on Spark: a Spark count."""
        if self.format == "delta-rs":
            from deltalake import DeltaTable

            actions = pa.table(DeltaTable(root, storage_options=self._options(root)).get_add_actions(flatten=True))
            if "num_records" in actions.schema.names:
                rows = actions.column("num_records").to_pylist()
                if all(n is not None for n in rows):
                    return int(sum(rows))
        return self.read(root).count()

    # -- writes ----------------------------------------------------------------------------------------------

    def write(
        self,
        df: DataFrame,
        root: str,
        mode: WriteMode = "error",
        partition_by: Sequence[str] = (),
        overwrite_schema: bool = False,
        row_group_bytes: int | None = None,
    ) -> None:
        """Commit `df` to the table at `root` (created when missing). `row_group_bytes`: the Parquet row group
        size of its files (Parquet's default, 128 MiB, when None)."""
        options = {"parquet.block.size": str(row_group_bytes)} if row_group_bytes else {}
        if self.format == "delta-spark":
            writer = df.write.format("delta").mode(mode).partitionBy(*partition_by).options(**options)
            if overwrite_schema:
                writer = writer.option("overwriteSchema", "true")
            writer.save(root)
            return
        self._write_delta_rs(df, root, mode, list(partition_by), overwrite_schema, options)

    def append_rows(self, rows: list[dict], schema: StructType, root: str) -> None:
        """Append a few rows made on the driver (a run's stats rows). delta-rs: written by pyarrow and committed
        from the driver, without a Spark job; Delta Lake on Spark: through a DataFrame."""
        if self.format == "delta-spark":
            self.write(self.spark.createDataFrame(rows, schema).coalesce(1), root, mode="append")
            return
        from deltalake import DeltaTable

        table_schema = _all_nullable(arrow_schema(schema))
        if self.exists(root):
            existing = DeltaTable(root, storage_options=self._options(root))
            _check_schema(root, pa.schema(existing.schema().to_arrow()), table_schema)
            if list(existing.metadata().partition_columns):
                raise SchemaMismatchError(f"{root}: a partitioned table; rows are appended to unpartitioned ones")
        commit_dir = _COMMIT_DIR_PREFIX + uuid.uuid4().hex[:16]
        filesystem, base = fs.filesystem(fs.join(root, commit_dir, "part-00000.parquet"))
        filesystem.create_dir(posixpath.dirname(base), recursive=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=table_schema), base, filesystem=filesystem)
        self.commit_directory(root, commit_dir, table_schema, "append", [])

    def _write_delta_rs(
        self,
        df: DataFrame,
        root: str,
        mode: WriteMode,
        partition_by: list[str],
        overwrite_schema: bool,
        options: dict[str, str],
    ) -> None:
        from deltalake import DeltaTable

        missing = [c for c in partition_by if c not in df.columns]
        if missing:
            raise SchemaMismatchError(f"{root}: partition column(s) {missing} not in the data")
        schema = _all_nullable(arrow_schema(df.schema))
        exists = self.exists(root)
        if exists:
            if mode == "error":
                raise ThresherError(f"Delta table already exists: {root}")
            table = DeltaTable(root, storage_options=self._options(root))
            table_partitions = list(table.metadata().partition_columns)
            if not (mode == "overwrite" and overwrite_schema):
                _check_schema(root, pa.schema(table.schema().to_arrow()), schema)
                if table_partitions != partition_by:
                    raise SchemaMismatchError(
                        f"{root}: table is partitioned by {table_partitions}, the write by {partition_by}"
                    )
        commit_dir = _COMMIT_DIR_PREFIX + uuid.uuid4().hex[:16]
        df.write.mode("error").partitionBy(*partition_by).options(**options).parquet(fs.join(root, commit_dir))
        self.commit_directory(root, commit_dir, schema, mode, partition_by)

    def commit_directory(
        self, root: str, commit_dir: str, schema: pa.Schema, mode: WriteMode, partition_by: list[str]
    ) -> None:
        """Commit the Parquet files the executors wrote under `root/commit_dir` as one Delta transaction (the
        driver's half of a delta-rs write: it needs only the driver's access to the store, not Spark's)."""
        from deltalake import DeltaTable, Schema
        from deltalake.transaction import create_table_with_add_actions

        adds = self._add_actions(root, commit_dir, partition_by)
        if self.exists(root):
            table = DeltaTable(root, storage_options=self._options(root))
            table.create_write_transaction(adds, mode=mode, schema=schema, partition_by=partition_by or None)
        else:
            create_table_with_add_actions(
                root,
                Schema.from_arrow(schema),
                adds,
                mode="error",
                partition_by=partition_by or None,
                storage_options=self._options(root),
            )

    def remove_unfinished_writes(self, root: str) -> list[str]:
        """Remove what killed writes left inside the table at `root`, where it is provably thresher's: a commit
        folder of this store (`part-` + 16 hex digits) that still holds Spark's `_temporary` folder, i.e. a
        write whose Spark job never finished and so never reached a Delta commit. Returns the removed paths."""
        removed = []
        for name in fs.list_dir(root):
            folder = fs.join(root, name)
            if _COMMIT_DIR.fullmatch(name) and "_temporary" in fs.list_dir(folder):
                fs.delete(folder)
                removed.append(folder)
        return removed

    def _add_actions(self, root: str, commit_dir: str, partition_by: list[str]) -> list:
        from deltalake.transaction import AddAction

        filesystem, base = fs.filesystem(root)
        adds = []
        for info in fs.list_files(fs.join(root, commit_dir)):
            if not info.path.endswith(".parquet"):
                continue
            relative = posixpath.relpath(info.path, base)
            values = _partition_values(relative, partition_by)
            with filesystem.open_input_file(info.path) as handle:
                rows = pq.read_metadata(handle).num_rows
            adds.append(AddAction(relative, info.size, values, info.mtime_ms, True, json.dumps({"numRecords": rows})))
        return adds

    def _read_delta_rs(self, root: str, with_file_metadata: bool) -> DataFrame:
        from deltalake import DeltaTable

        table = DeltaTable(root, storage_options=self._options(root))
        schema = spark_schema(pa.schema(table.schema().to_arrow()))
        partitions = list(table.metadata().partition_columns)
        uris = table.file_uris()
        columns = [*schema.fieldNames(), *(("_file", "_row") if with_file_metadata else ())]
        if not uris:
            empty = self.spark.createDataFrame([], schema)
            if with_file_metadata:
                empty = empty.select(
                    "*", F.lit(None).cast("string").alias("_file"), F.lit(None).cast("long").alias("_row")
                )
            return empty
        if not partitions:
            frame = self.spark.read.schema(schema).parquet(*uris)
            return _with_file_metadata(frame) if with_file_metadata else frame
        # Partition values live in the paths (k=v) below each commit directory: read each commit's files with
        # that directory as basePath so Spark recovers them, typed by the table schema.
        by_commit: dict[str, list[str]] = defaultdict(list)
        for uri in uris:
            by_commit[commit_directory_of(uri, root)].append(uri)
        frames = []
        for commit, files in sorted(by_commit.items()):
            frame = self.spark.read.schema(schema).option("basePath", fs.join(root, commit)).parquet(*files)
            frames.append(_with_file_metadata(frame) if with_file_metadata else frame)
        union = frames[0]
        for frame in frames[1:]:
            union = union.unionByName(frame)
        return union.select(*columns)


def commit_directory_of(uri: str, root: str) -> str:
    """The commit directory (first path part below the table root) of a data file delta-rs lists; delta-rs names
    files under its own scheme (`s3://` for a table at `s3a://...`)."""
    local = fs.local_path(uri)
    for prefix in {root.rstrip("/") + "/", objectstore.for_arrow(root).rstrip("/") + "/"}:
        if local.startswith(prefix):
            return local[len(prefix) :].split("/", 1)[0]
        if "/" + prefix.lstrip("/") in local:  # a relative root: delta-rs lists absolute paths
            return local.split("/" + prefix.lstrip("/"), 1)[1].split("/", 1)[0]
    raise ThresherError(f"Delta table {root} lists a data file outside it: {uri}")


def _with_file_metadata(frame: DataFrame) -> DataFrame:
    return frame.select("*", F.col("_metadata.file_path").alias("_file"), F.col("_metadata.row_index").alias("_row"))


def _partition_values(relative: str, partition_by: list[str]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for segment in relative.split("/")[1:-1]:
        key, sep, value = segment.partition("=")
        if sep and key in partition_by:
            decoded = unquote(value)
            values[key] = None if decoded == _HIVE_NULL else decoded
    missing = [c for c in partition_by if c not in values]
    if missing:
        raise ThresherError(f"file {relative} has no value for partition column(s) {missing}")
    return values


def _all_nullable(schema: pa.Schema) -> pa.Schema:
    # Spark's nullability flags depend on how a column was derived, not on the data; declaring every column
    # nullable keeps appends of equal data from being refused for a flag.
    return pa.schema([_nullable_field(f) for f in schema])


def _nullable_field(field: pa.Field) -> pa.Field:
    kind = field.type
    if pa.types.is_struct(kind):
        kind = pa.struct([_nullable_field(kind.field(i)) for i in range(kind.num_fields)])
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        kind = pa.list_(_nullable_field(kind.value_field))
    elif pa.types.is_map(kind):
        kind = pa.map_(kind.key_type, _nullable_field(kind.item_field).type)
    return pa.field(field.name, kind, nullable=True)


def _check_schema(root: str, table_schema: pa.Schema, new_schema: pa.Schema) -> None:
    table_fields = {f.name: _nullable_field(f).type for f in table_schema}
    new_fields = {f.name: f.type for f in new_schema}
    problems = []
    for name in table_fields.keys() - new_fields.keys():
        problems.append(f"missing column {name!r}")
    for name in new_fields.keys() - table_fields.keys():
        problems.append(f"unexpected column {name!r}")
    for name in table_fields.keys() & new_fields.keys():
        if not _same_type(table_fields[name], new_fields[name]):
            problems.append(f"column {name!r} is {new_fields[name]}, the table has {table_fields[name]}")
    if problems:
        raise SchemaMismatchError(f"{root}: data does not match the table schema: " + "; ".join(sorted(problems)))


def _same_type(a: pa.DataType, b: pa.DataType) -> bool:
    # delta-rs reports strings as large/view types; compare logical types.
    logical = {pa.large_string(): pa.string(), pa.string_view(): pa.string()}
    if pa.types.is_struct(a) and pa.types.is_struct(b):
        return [f.name for f in a] == [f.name for f in b] and all(
            _same_type(a.field(i).type, b.field(i).type) for i in range(a.num_fields)
        )
    if (pa.types.is_list(a) or pa.types.is_large_list(a)) and (pa.types.is_list(b) or pa.types.is_large_list(b)):
        return _same_type(a.value_type, b.value_type)
    if pa.types.is_map(a) and pa.types.is_map(b):
        return _same_type(a.key_type, b.key_type) and _same_type(a.item_type, b.item_type)
    if pa.types.is_timestamp(a) and pa.types.is_timestamp(b):
        return True
    return logical.get(a, a) == logical.get(b, b)
