"""`refine`: document refinement (CulturaX / CCNet style), a global stage.

Per document: mojibake repair (ftfy, only where the text shows signs of it), then Unicode and whitespace
normalization. Across the corpus: lines that occur in at least `min_docs` documents are boilerplate (menus,
cookie banners, "Share this article") and are removed. Lines are compared case-folded, with digits as 0 and
without punctuation. Documents left empty are dropped.

The line counts are a Spark aggregation over (line hash, document) pairs, never collected: only hashes of
lines seen in `min_docs` documents or more travel on, joined back to the documents that contain them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pydantic import Field
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, BooleanType, LongType, StructField, StructType

from thresher.arrow_types import arrow_schema, arrow_type
from thresher.schema import DOC_ID, TEXT
from thresher.stages.base import GlobalStage, StageContext, StageParams, StageReport
from thresher.stages.fused import count_words
from thresher.stages.registry import register
from thresher.text.normalize import UnicodeForm, normalize_text
from thresher.text.refine import fix_mojibake, line_hashes, remove_lines

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)
_TEXT_BEFORE = "__refine_original_length"
_WORDS_BEFORE = "__refine_original_words"
_HASHES = "__refine_line_hashes"
_FIXED = "__refine_fixed"
_DROP = "__refine_drop"
EMPTY = "empty_after_refine"


class RefineParams(StageParams):
    fix_mojibake: bool = Field(default=True, description="Repair mojibake (ftfy) where the text shows signs of it.")
    form: UnicodeForm = Field(
        default="NFC", description="Unicode normalization form (none: leave code points as they are)."
    )
    collapse_spaces: bool = Field(default=True, description="Collapse runs of horizontal whitespace into one space.")
    max_blank_lines: int = Field(default=2, ge=0, description="Most consecutive blank lines kept.")
    # Lines found in at least this many documents are removed; 0 turns the line pass off.
    min_docs: int = Field(default=10, ge=0)


def prepared_fields(schema: StructType) -> StructType:
    """The columns `_Prepare` yields: the input's, then the helper columns of the line pass."""
    return StructType(
        [
            *schema.fields,
            StructField(_TEXT_BEFORE, LongType()),
            StructField(_WORDS_BEFORE, LongType()),
            StructField(_HASHES, ArrayType(LongType())),
            StructField(_FIXED, BooleanType()),
        ]
    )


class _Prepare:
    """mapInArrow: repair and normalize the text, hash its lines."""

    def __init__(self, params: RefineParams, schema: StructType) -> None:
        self.params = params
        self.schema = arrow_schema(schema)

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        p = self.params
        for batch in batches:
            texts, hashes, fixed, lengths, words = [], [], [], [], []
            for text in batch.column(TEXT).to_pylist():
                repaired = _repaired(text) if p.fix_mojibake else text
                new, _ = normalize_text(repaired, p.form, True, p.collapse_spaces, p.max_blank_lines)
                texts.append(new)
                hashes.append(line_hashes(new) if p.min_docs else None)
                fixed.append(repaired != text)
                lengths.append(len(text))
                words.append(count_words(text))
            columns = [pa.array(texts, pa.string()) if n == TEXT else batch.column(n) for n in batch.schema.names]
            columns += [
                pa.array(lengths, pa.int64()),
                pa.array(words, pa.int64()),
                pa.array(hashes, pa.list_(pa.int64())),
                pa.array(fixed, pa.bool_()),
            ]
            yield pa.RecordBatch.from_arrays(columns, schema=self.schema)


def _repaired(text: str) -> str:
    try:
        return fix_mojibake(text)
    except Exception as error:  # one odd document must not fail the job: it keeps its text
        log.warning("refine: mojibake repair failed (%s: %s); text left as it was", type(error).__name__, error)
        return text


class _Finish:
    """mapInArrow: remove the frequent lines, write the stage's struct, drop the helper columns."""

    def __init__(self, params: RefineParams, result_type: StructType, schema: StructType) -> None:
        self.params = params
        self.result_type = arrow_type(result_type)
        self.schema = arrow_schema(schema)

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            columns = {name: batch.column(name) for name in batch.schema.names}
            texts, results = [], []
            for text, hashes, drop, fixed, length, words in zip(
                columns[TEXT].to_pylist(),
                columns[_HASHES].to_pylist(),
                columns[_DROP].to_pylist(),
                columns[_FIXED].to_pylist(),
                columns[_TEXT_BEFORE].to_pylist(),
                columns[_WORDS_BEFORE].to_pylist(),
                strict=True,
            ):
                removed = 0
                if drop:
                    text, removed = remove_lines(text, hashes, set(drop))
                texts.append(text)
                results.append(_result(text, fixed, removed, length, words))
            out = [pa.array(texts, pa.string()) if n == TEXT else columns[n] for n in self.schema.names[:-1]]
            out.append(pa.array(results, self.result_type))
            yield pa.RecordBatch.from_arrays(out, schema=self.schema)


def _result(text: str, fixed: bool, removed: int, length: int, words: int) -> dict[str, Any]:
    return {
        "keep": bool(text),
        "reason": None if text else EMPTY,
        "mojibake_fixed": fixed,
        "lines_removed": removed,
        "chars_before": length,
        "chars_after": len(text),
        "words_before": words,
        "words_after": count_words(text),
    }


@register
class Refine(GlobalStage):
    """Mojibake repair, Unicode/whitespace normalization, removal of lines repeated across many documents."""

    id = "refine"
    Params = RefineParams
    rewrites_text = True
    params: RefineParams

    def signal_fields(self) -> list[StructField]:
        return [StructField("mojibake_fixed", BooleanType()), StructField("lines_removed", LongType())]

    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        report = StageReport()
        p = self.params
        prepared_schema = prepared_fields(df.schema)
        # Materialized: the repaired text feeds both the line counts and the final pass (ftfy runs once).
        prepared = ctx.materialize(df.mapInArrow(_Prepare(p, prepared_schema), prepared_schema), "prepared")
        doc_lines = prepared.select(
            DOC_ID, F.explode(F.array_distinct(F.filter(F.col(_HASHES), lambda h: h.isNotNull()))).alias("h")
        )
        if p.min_docs:
            counts = doc_lines.groupBy("h").count()
            frequent = ctx.materialize(counts.where(F.col("count") >= p.min_docs).select("h"), "frequent")
            drops = doc_lines.join(frequent, "h", "left_semi").groupBy(DOC_ID).agg(F.collect_list("h").alias(_DROP))
            drops = ctx.materialize(drops, "drops")
            report.metrics["frequent_lines"] = float(frequent.count())
            report.metrics["docs_with_frequent_lines"] = float(drops.count())
            joined = prepared.join(drops, DOC_ID, "left")
        else:
            joined = prepared.withColumn(_DROP, F.lit(None).cast(ArrayType(LongType())))
        output_schema = StructType([*df.schema.fields, StructField(self.id, self.result_type(), True)])
        return joined.mapInArrow(_Finish(p, self.result_type(), output_schema), output_schema), report
