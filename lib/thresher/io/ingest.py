"""Ingest: input files -> one row per input record, each a canonical document or a quarantined record.

The result is the first checkpoint of a run. Its `quarantine` struct is null for documents and says what is
wrong for every other record, so `input records == documents + quarantined` holds by construction.

An input of format `run` (an earlier run's output directory) contributes its kept/ documents unchanged, with
every other column they carry (stage scores and decisions); those columns pass through ingest as they are.

Document ids: the input's id when present (`input.fields.id`), else a hash of file and offset. Repeated input
ids follow `input.duplicate_ids`: the first occurrence in (file, offset) order keeps the id; the others are
renamed to `<id>~<hash of file and offset>` or quarantined with reason `duplicate_id`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DataType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
)

from thresher.arrow_types import arrow_schema
from thresher.errors import InputError
from thresher.io.delta import DeltaStore
from thresher.io.inputs import PlannedInput, file_source
from thresher.io.jsonl import (
    BLANK_TEXT,
    DUPLICATE_ID,
    EMPTY_TEXT,
    INVALID_UTF8,
    NULL_TEXT,
    RAW_KEEP_CHARS,
    TOO_LARGE,
    UNREADABLE_FILE,
    ParseOptions,
)
from thresher.io.jsonl_splits import (
    DEFAULT_SPLIT_MB,
    RecordColumns,
    Split,
    byte_ranges,
    count_newlines,
    newline_window,
    number_lines,
    read_split,
)
from thresher.io.layout import OutputLayout
from thresher.io.spec import InputSpec
from thresher.io.warc import WarcOptions, iter_records, open_seekable
from thresher.schema import (
    DOC_ID,
    DOCUMENT_SCHEMA,
    META,
    ORIGIN,
    ORIGIN_TYPE,
    REWRITTEN_TEXT,
    SOURCE,
    TEXT,
    URL,
)

# The text of an annotate run's documents as it came in, when a later run (select) goes on with the rewritten one.
ORIGINAL_TEXT = "original_text"

QUARANTINE = "quarantine"
# Records that are not documents by design (WARC requests, metadata, non-HTML responses, ...): the kind, null
# for documents and quarantined records. Only inputs that have such records (WARC/WET) add the column.
SKIPPED = "skipped"
QUARANTINE_TYPE = StructType(
    [
        StructField("reason", StringType(), True),
        StructField("error", StringType(), True),
        StructField("raw", StringType(), True),
        StructField("raw_bytes", LongType(), True),
        StructField("input_id", StringType(), True),
    ]
)

# What the readers produce: one row per input record.
RECORD_SCHEMA = StructType(
    [
        StructField("input_id", StringType(), True),
        StructField(TEXT, StringType(), True),
        StructField(URL, StringType(), True),
        StructField(SOURCE, StringType(), False),
        StructField(META, MapType(StringType(), StringType(), True), True),
        StructField(ORIGIN, ORIGIN_TYPE, False),
        StructField("raw_bytes", LongType(), True),
        StructField("q_reason", StringType(), True),
        StructField("q_error", StringType(), True),
        StructField("q_raw", StringType(), True),
        StructField("dup_policy", StringType(), False),
    ]
)

INGEST_SCHEMA = StructType(
    [
        *(StructField(f.name, f.dataType, True) for f in DOCUMENT_SCHEMA.fields),
        StructField(QUARANTINE, QUARANTINE_TYPE),
    ]
)

_ROWS_PER_BATCH = 512
_BROADCAST_REPEATED_IDS = 1_000_000


def read_records(spark: SparkSession, planned: list[PlannedInput], store: DeltaStore) -> DataFrame:
    frames = []
    for item in planned:
        if item.format == "jsonl":
            frames.append(_jsonl_records(spark, item))
        elif item.format in ("warc", "wet"):
            frames.append(_warc_records(spark, item))
        elif item.format == "run":
            frames.append(_run_records(item, store))
        else:
            frames.append(_table_records(spark, item, store))
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame, allowMissingColumns=True)
    return union


@contextmanager
def ingest(spark: SparkSession, planned: list[PlannedInput], store: DeltaStore) -> Iterator[DataFrame]:
    """All input records with document ids resolved, in INGEST_SCHEMA.

    The parsed records are persisted on executor disks while the context is open, so that the (Python)
    parse runs once although the records are read twice: once for the repeated ids, once for the output.
    """
    records = read_records(spark, planned, store).persist(StorageLevel.DISK_ONLY)
    try:
        yield resolve_ids(records)
    finally:
        records.unpersist()


def resolve_ids(records: DataFrame) -> DataFrame:
    fallback = F.substring(
        F.sha2(F.concat_ws("\u0000", F.col("origin.file"), F.col("origin.offset").cast("string")), 256), 1, 32
    )
    not_skipped = F.col(SKIPPED).isNull() if SKIPPED in records.columns else F.lit(True)
    valid_with_id = records.where(F.col("q_reason").isNull() & F.col("input_id").isNotNull() & not_skipped)
    repeated = (
        valid_with_id.groupBy("input_id")
        .agg(F.count(F.lit(1)).alias("_n"), F.min(F.struct("origin.file", "origin.offset")).alias("_first"))
        .where(F.col("_n") > 1)
        .select("input_id", "_first")
    )
    # Joining on input_id would shuffle the whole corpus, text included; ids rarely repeat, so count first:
    # no join at all when none repeats, a broadcast join while the repeated ids are few.
    repeated_ids = repeated.count()
    if repeated_ids == 0:
        joined = records.withColumn("_first", F.lit(None).cast(repeated.schema["_first"].dataType))
    elif repeated_ids <= _BROADCAST_REPEATED_IDS:
        joined = records.join(F.broadcast(repeated), on="input_id", how="left")
    else:
        joined = records.join(repeated, on="input_id", how="left")
    is_repeat = (
        F.col("q_reason").isNull()
        & F.col("_first").isNotNull()
        & ~((F.col("_first.file") == F.col("origin.file")) & (F.col("_first.offset") == F.col("origin.offset")))
    )
    quarantine_repeat = is_repeat & (F.col("dup_policy") == "quarantine")
    reason = F.when(quarantine_repeat, F.lit(DUPLICATE_ID)).otherwise(F.col("q_reason"))
    doc_id = (
        F.when(F.col("input_id").isNull(), fallback)
        .when(is_repeat, F.concat(F.col("input_id"), F.lit("~"), F.substring(fallback, 1, 16)))
        .otherwise(F.col("input_id"))
    )
    error = F.when(quarantine_repeat, F.lit("id already used by an earlier record")).otherwise(F.col("q_error"))
    raw = F.when(quarantine_repeat, F.substring(F.col(TEXT), 1, RAW_KEEP_CHARS)).otherwise(F.col("q_raw"))
    quarantine = F.when(
        reason.isNotNull(),
        F.struct(
            reason.alias("reason"),
            error.alias("error"),
            raw.alias("raw"),
            F.col("raw_bytes").alias("raw_bytes"),
            F.col("input_id").alias("input_id"),
        ),
    )
    is_doc = reason.isNull() & not_skipped
    return joined.select(
        F.when(is_doc, doc_id).alias(DOC_ID),
        F.when(is_doc, F.col(TEXT)).alias(TEXT),
        F.when(is_doc, F.col(URL)).alias(URL),
        F.col(SOURCE),
        F.when(is_doc, F.col(META)).alias(META),
        F.col(ORIGIN),
        quarantine.alias(QUARANTINE),
        *_extra_columns(records, RECORD_SCHEMA.fieldNames()),
    )


def documents(ingested: DataFrame) -> DataFrame:
    """The documents of an ingest checkpoint: DOCUMENT_SCHEMA columns first, then any other columns an input
    brought along (the stage columns of a `run` input); only the quarantine struct is left out."""
    extra = _extra_columns(ingested, [*DOCUMENT_SCHEMA.fieldNames(), QUARANTINE, SKIPPED])
    is_doc = F.col(QUARANTINE).isNull()
    if SKIPPED in ingested.columns:
        is_doc = is_doc & F.col(SKIPPED).isNull()
    return ingested.where(is_doc).select(*DOCUMENT_SCHEMA.fieldNames(), *extra)


def _extra_columns(frame: DataFrame, known: list[str]) -> list[str]:
    return [c for c in frame.columns if c not in known]


def quarantined(ingested: DataFrame) -> DataFrame:
    """The quarantine/ table: one row per record that is not a valid document."""
    return ingested.where(F.col(QUARANTINE).isNotNull()).select(
        F.col(SOURCE),
        F.col("origin.file").alias("file"),
        F.col("origin.line").alias("line"),
        F.col("origin.offset").alias("offset"),
        F.col("quarantine.reason").alias("reason"),
        F.col("quarantine.error").alias("error"),
        F.col("quarantine.raw").alias("raw"),
        F.col("quarantine.raw_bytes").alias("raw_bytes"),
        F.col("quarantine.input_id").alias("input_id"),
    )


# -- JSON lines ------------------------------------------------------------------------------------------------


class _FileReader:
    """Reads whole files on an executor (one task per file) into Arrow batches of records; picklable (holds only
    options). Subclasses yield one record dict per input record from `_read_file`."""

    def __init__(self, dup_policy: str, schema: StructType) -> None:
        self.dup_policy = dup_policy
        self.schema = arrow_schema(schema)

    def _read_file(self, path: str) -> Iterator[dict]:
        raise NotImplementedError

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for path in batch.column("path").to_pylist():
                rows: list[dict] = []
                for row in self._read_file(path):
                    row["dup_policy"] = self.dup_policy
                    rows.append(row)
                    if len(rows) >= _ROWS_PER_BATCH:
                        yield pa.RecordBatch.from_pylist(rows, schema=self.schema)
                        rows = []
                if rows:
                    yield pa.RecordBatch.from_pylist(rows, schema=self.schema)


class _JsonlSplitReader:
    """Reads byte-range splits of JSON-lines files on an executor (see thresher.io.jsonl_splits); picklable."""

    def __init__(self, options: ParseOptions, dup_policy: str, source_by_file: bool = False) -> None:
        self.options = options
        self.dup_policy = dup_policy
        self.source_by_file = source_by_file
        self.schema = arrow_schema(RECORD_SCHEMA)

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for row in batch.to_pylist():
                split = Split(row["path"], row["start"], row["end"], row["first_line"])
                options = (
                    replace(self.options, source=file_source(split.path)) if self.source_by_file else self.options
                )
                columns = RecordColumns(self.schema, split.path, options.source, self.dup_policy)
                yield from read_split(split, options, columns)


def _count_windows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        counts = []
        for row in batch.to_pylist():
            window = newline_window(Split(row["path"], row["start"], row["end"]))
            try:
                counts.append(count_newlines(row["path"], *window))
            except OSError:
                # The file went away: each of its splits reports it as an unreadable_file record.
                counts.append(0)
        yield pa.RecordBatch.from_arrays([batch.column("index"), pa.array(counts, pa.int64())], ["index", "newlines"])


def jsonl_splits(spark: SparkSession, item: PlannedInput) -> list[Split]:
    """The input's files as splits of at most `input.split_mb`; the files cut into several are numbered by a
    count of their newlines (one small Spark job, only when some file is larger than a split)."""
    split_bytes = max(1, int(getattr(item.config, "split_mb", DEFAULT_SPLIT_MB) * (1 << 20)))
    per_file = [byte_ranges(f.path, f.size, split_bytes) for f in item.files]
    to_count = [split for splits in per_file if len(splits) > 1 for split in splits]
    if not to_count:
        return [split for splits in per_file for split in splits]
    # A DataFrame job (not an RDD one): it runs in the Python workers the parse uses next.
    ranges = spark.createDataFrame(
        [(index, s.path, s.start, s.end) for index, s in enumerate(to_count)],
        "index long, path string, start long, end long",
    )
    newlines = dict(ranges.mapInArrow(_count_windows, "index long, newlines long").collect())
    counts = iter(newlines[index] for index in range(len(to_count)))
    numbered: list[Split] = []
    for splits in per_file:
        if len(splits) == 1:
            numbered.extend(splits)
        else:
            numbered.extend(number_lines(splits, [next(counts) for _ in splits]))
    return numbered


def _jsonl_records(spark: SparkSession, item: PlannedInput) -> DataFrame:
    splits = [(s.path, s.start, s.end, s.first_line) for s in jsonl_splits(spark, item)]
    frame = spark.createDataFrame(
        spark.sparkContext.parallelize(splits, max(1, len(splits))),
        "path string, start long, end long, first_line long",
    )
    options = ParseOptions(item.source, item.config.fields, item.config.max_text_chars)
    reader = _JsonlSplitReader(options, item.config.duplicate_ids, item.config.source_by == "file")
    return frame.mapInArrow(reader, RECORD_SCHEMA)


# -- WARC and WET --------------------------------------------------------------------------------------------


class _WarcReader(_FileReader):
    """Streams the records of WARC/WET files, one record in memory at a time."""

    def __init__(self, options: WarcOptions, dup_policy: str) -> None:
        super().__init__(dup_policy, WARC_RECORD_SCHEMA)
        self.options = options

    def _read_file(self, path: str) -> Iterator[dict]:
        try:
            handle, size = open_seekable(path)
        except OSError as error:
            yield {
                "source": self.options.source,
                "origin": {"file": path, "line": None, "offset": 0},
                "q_reason": UNREADABLE_FILE,
                "q_error": f"{type(error).__name__}: {error}"[:1000],
            }
            return
        with handle:
            yield from iter_records(path, handle, size, self.options)


WARC_RECORD_SCHEMA = StructType([*RECORD_SCHEMA.fields, StructField(SKIPPED, StringType(), True)])


def _warc_records(spark: SparkSession, item: PlannedInput) -> DataFrame:
    paths = [(f.path,) for f in item.files]
    files = spark.createDataFrame(spark.sparkContext.parallelize(paths, max(1, len(paths))), "path string")
    # Payloads are HTML bytes: allow for multi-byte characters as the JSON reader does.
    options = WarcOptions(item.source, max_payload_bytes=item.config.max_text_chars * 4)
    return files.mapInArrow(_WarcReader(options, item.config.duplicate_ids), WARC_RECORD_SCHEMA)


# -- earlier runs ---------------------------------------------------------------------------------------------


def _run_records(item: PlannedInput, store: DeltaStore) -> DataFrame:
    """The kept/ documents of earlier runs, all columns unchanged; they are valid documents by construction."""
    frames = [store.read(OutputLayout(f.path).kept) for f in item.files]
    frame = frames[0]
    for other in frames[1:]:
        frame = frame.unionByName(other, allowMissingColumns=True)
    missing = [c for c in DOCUMENT_SCHEMA.fieldNames() if c not in frame.columns]
    if missing:
        raise InputError(f"input {item.config.path}: kept/ lacks the document column(s) {missing}")
    if REWRITTEN_TEXT in frame.columns:
        # An annotate run: its documents go on with the text its rewrites made (what its filter run would carry),
        # the input's text beside it as ORIGINAL_TEXT.
        frame = frame.withColumn(ORIGINAL_TEXT, F.col(TEXT)).withColumn(
            TEXT, F.coalesce(F.col(REWRITTEN_TEXT), F.col(TEXT))
        )
        frame = frame.drop(REWRITTEN_TEXT)
    extra = _extra_columns(frame, DOCUMENT_SCHEMA.fieldNames())
    clashing = sorted(set(extra) & {*RECORD_SCHEMA.fieldNames(), QUARANTINE})
    if clashing:
        raise InputError(f"input {item.config.path}: kept/ has column(s) {clashing} that ingest uses itself")
    return frame.select(
        F.col(DOC_ID).alias("input_id"),
        F.col(TEXT),
        F.col(URL),
        F.col(SOURCE),
        F.col(META),
        F.col(ORIGIN),
        F.lit(None).cast("long").alias("raw_bytes"),
        F.lit(None).cast("string").alias("q_reason"),
        F.lit(None).cast("string").alias("q_error"),
        F.lit(None).cast("string").alias("q_raw"),
        F.lit(item.config.duplicate_ids).alias("dup_policy"),
        *extra,
    )


# -- Parquet and Delta ---------------------------------------------------------------------------------------


def _table_records(spark: SparkSession, item: PlannedInput, store: DeltaStore) -> DataFrame:
    config = item.config
    if item.format == "parquet":
        frame = spark.read.parquet(*(f.path for f in item.files))
        frame = frame.select(
            "*", F.col("_metadata.file_path").alias("_file"), F.col("_metadata.row_index").alias("_row")
        )
    else:
        frames = [
            store.read(f.path, with_file_metadata=True).withColumn("_source", F.lit(file_source(f.path)))
            for f in item.files
        ]
        frame = frames[0]
        for other in frames[1:]:
            frame = frame.unionByName(other)
    fields = config.fields
    original = [c for c in frame.columns if c not in ("_file", "_row", "_source")]
    text_type = _field_type(frame.schema, fields.text)
    if text_type is None:
        raise InputError(f"input {config.path}: no column {fields.text!r} (input.fields.text); columns: {original}")
    if not isinstance(text_type, StringType):
        raise InputError(f"input {config.path}: column {fields.text!r} is {text_type.simpleString()}, not string")
    text = F.col(fields.text)
    # Parquet strings are not checked for UTF-8 on read: invalid bytes are quarantined here as in JSONL, not
    # left to fail the first stage that converts them to Python.
    q_reason = (
        F.when(text.isNull(), F.lit(NULL_TEXT))
        .when(~F.is_valid_utf8(text), F.lit(INVALID_UTF8))
        .when(text == "", F.lit(EMPTY_TEXT))
        .when(text.rlike(r"^(?U)\s*$"), F.lit(BLANK_TEXT))
        .when(F.length(text) > config.max_text_chars, F.lit(TOO_LARGE))
    )
    _check_named_columns(frame.schema, config, original)
    input_id = _optional_column(frame.schema, fields.id)
    url = _optional_column(frame.schema, fields.url)
    mapped = {p.split(".", 1)[0] for p in (fields.id, fields.text, fields.url) if p and "." not in p}
    meta_names = fields.meta if fields.meta is not None else [c for c in original if c not in mapped]
    meta = _meta_map(frame.schema, meta_names)
    raw_json = F.make_valid_utf8(F.to_json(F.struct(*original)))
    return frame.select(
        F.when(input_id.isNotNull() & (input_id != ""), input_id).alias("input_id"),
        text.alias(TEXT),
        url.alias(URL),
        _table_source(item).alias(SOURCE),
        meta.alias(META),
        F.struct(
            F.col("_file").alias("file"), F.lit(None).cast("long").alias("line"), F.col("_row").alias("offset")
        ).alias(ORIGIN),
        F.octet_length(raw_json).cast("long").alias("raw_bytes"),
        q_reason.alias("q_reason"),
        F.when(q_reason.isNotNull(), F.lit(None).cast("string")).alias("q_error"),
        F.when(q_reason.isNotNull(), F.substring(raw_json, 1, RAW_KEEP_CHARS)).alias("q_raw"),
        F.lit(config.duplicate_ids).alias("dup_policy"),
    )


def _check_named_columns(schema: StructType, config: InputSpec, columns: list[str]) -> None:
    """Columns the user named (input.fields.id / url / meta) must exist; the defaults (`id`, `url`) may not."""
    fields = config.fields
    named = [
        (f"input.fields.{key}", path)
        for key in ("id", "url")
        if key in fields.model_fields_set
        for path in [getattr(fields, key)]
        if path is not None
    ]
    named += [("input.fields.meta", path) for path in fields.meta or []]
    missing = [f"{key}: {path!r}" for key, path in named if _field_type(schema, path) is None]
    if missing:
        raise InputError(f"input {config.path}: no such column(s): {'; '.join(missing)}; columns: {columns}")


def _table_source(item: PlannedInput) -> Column:
    if item.config.source_by != "file":
        return F.lit(item.source)
    # The name of each row's Parquet file, as file_source names a path (Delta tables: `_source`, set per table).
    if item.format == "delta":
        return F.col("_source")
    return F.regexp_extract(F.col("_file"), r"([^/]+?)((\.(jsonl|json|ndjson|parquet|gz|zst|zstd))*)$", 1)


def _field_type(schema: StructType, dotted: str) -> DataType | None:
    current: DataType = schema
    for part in dotted.split("."):
        if not isinstance(current, StructType) or part not in current.fieldNames():
            return None
        current = current[part].dataType
    return current


def _optional_column(schema: StructType, dotted: str | None) -> Column:
    if dotted is None or _field_type(schema, dotted) is None:
        return F.lit(None).cast("string")
    return _as_string(F.col(dotted), _field_type(schema, dotted))


def _as_string(column: Column, kind: DataType | None) -> Column:
    if isinstance(kind, StringType):
        # Ids, URLs and meta values with invalid UTF-8 bytes keep their valid part (U+FFFD for the rest).
        return F.make_valid_utf8(column)
    if isinstance(kind, StructType | MapType) or (kind is not None and kind.typeName() == "array"):
        return F.to_json(column)
    return column.cast("string")


def _meta_map(schema: StructType, names: list[str]) -> Column:
    entries = []
    for name in names:
        kind = _field_type(schema, name)
        if kind is not None:
            entries.extend([F.lit(name), _as_string(F.col(name), kind)])
    if not entries:
        return F.lit(None).cast(MapType(StringType(), StringType()))
    meta = F.map_filter(F.create_map(*entries), lambda _, v: v.isNotNull())
    return F.when(F.size(meta) > 0, meta)
