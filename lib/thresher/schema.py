"""Canonical column names and types of the tables a run writes (the data contract in DESIGN.md)."""

from __future__ import annotations

from pyspark.sql.types import (
    BooleanType,
    DoubleType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

DOC_ID = "doc_id"
TEXT = "text"
# Annotate mode keeps the input's text in `text`; what the text rewrites (line removal, refinement, PII) made of
# it, the text a filter run would carry on, is this column (present once a rewriting stage ran).
REWRITTEN_TEXT = "rewritten_text"
URL = "url"
SOURCE = "source"
META = "meta"
# Where the document came from: input file, 1-based line (JSONL) or row index (Parquet), byte offset.
ORIGIN = "origin"

# Columns excluded/ adds to say which stage removed a document and why.
STAGE = "stage"
REASON = "reason"

ORIGIN_TYPE = StructType(
    [
        StructField("file", StringType(), False),
        StructField("line", LongType(), True),
        StructField("offset", LongType(), True),
    ]
)

DOCUMENT_SCHEMA = StructType(
    [
        StructField(DOC_ID, StringType(), False),
        StructField(TEXT, StringType(), False),
        StructField(URL, StringType(), True),
        StructField(SOURCE, StringType(), False),
        StructField(META, MapType(StringType(), StringType(), True), True),
        StructField(ORIGIN, ORIGIN_TYPE, True),
    ]
)

CANONICAL_COLUMNS = tuple(f.name for f in DOCUMENT_SCHEMA.fields)

QUARANTINE_SCHEMA = StructType(
    [
        StructField("source", StringType(), False),
        StructField("file", StringType(), False),
        StructField("line", LongType(), True),
        StructField("offset", LongType(), True),
        StructField("reason", StringType(), False),
        StructField("error", StringType(), True),
        # The raw record as text (invalid UTF-8 bytes shown as U+FFFD), cut to a bounded size.
        StructField("raw", StringType(), True),
        StructField("raw_bytes", LongType(), True),
        StructField("input_id", StringType(), True),
    ]
)

# Names a stage id may not take, because its result column would collide with these.
RESERVED_COLUMNS = frozenset((*CANONICAL_COLUMNS, STAGE, REASON))

# Fields every stage's result struct carries. `keep` is declared nullable only because the whole struct is
# null for rows a stage never saw (filter mode, fused pass); for every row a stage saw it is set.
KEEP = "keep"
DECISION_FIELDS = (StructField(KEEP, BooleanType(), True), StructField(REASON, StringType(), True))

# Extra fields of a stage that rewrites text, so stats can account characters and words per stage.
REWRITE_FIELDS = (
    StructField("chars_before", LongType(), True),
    StructField("chars_after", LongType(), True),
    StructField("words_before", LongType(), True),
    StructField("words_after", LongType(), True),
    # Tokens of run.tokenizer; null without one (or when the stage is a global stage that does not count them).
    StructField("tokens_before", LongType(), True),
    StructField("tokens_after", LongType(), True),
)

STATS_SCHEMA = StructType(
    [
        StructField("run_id", StringType(), False),
        StructField("stage_index", LongType(), False),
        StructField("stage", StringType(), False),
        StructField("segment", StringType(), False),
        StructField("mode", StringType(), False),
        StructField("docs_in", LongType(), False),
        StructField("docs_out", LongType(), False),
        StructField("docs_excluded", LongType(), False),
        # Documents the stage decided against; equal to docs_excluded in filter mode, recorded only in annotate.
        StructField("docs_flagged", LongType(), False),
        StructField("chars_in", LongType(), False),
        StructField("chars_out", LongType(), False),
        StructField("words_in", LongType(), False),
        StructField("words_out", LongType(), False),
        # Tokens of run.tokenizer into and out of the stage; null without a tokenizer or when not known exactly.
        StructField("tokens_in", LongType(), True),
        StructField("tokens_out", LongType(), True),
        StructField("reason_counts", MapType(StringType(), LongType(), False), False),
        # Per numeric signal: quantiles, histogram, mean (JSON, see thresher.stats).
        StructField("signals", StringType(), True),
        # Stage-specific figures (dedup components, redaction counts, ...).
        StructField("metrics", MapType(StringType(), DoubleType(), False), True),
        # Null when not known (a checkpoint committed by a run killed before it recorded its timing).
        StructField("wall_seconds", DoubleType(), True),
        StructField("docs_per_second", DoubleType(), True),
        StructField("started_at", TimestampType(), True),
        StructField("finished_at", TimestampType(), True),
    ]
)
