"""Annotate mode keeps every document's input text in `text`; what rewriting stages make of it goes to
`rewritten_text` (thresher.schema.REWRITTEN_TEXT), the text a filter run would carry on. Row stages handle
this in the fused pass; this module does it for global stages that rewrite text (e.g. `refine`), which read
and write `text` themselves: they are handed the rewritten text as `text`, and their output is moved back."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from thresher.schema import REWRITTEN_TEXT, TEXT
from thresher.stages.base import GlobalStage, Mode, StageContext, StageReport

_ORIGINAL = "__annotate_original_text"


def apply_global(
    stage: GlobalStage, frame: DataFrame, context: StageContext, mode: Mode
) -> tuple[DataFrame, StageReport]:
    """`stage.apply(frame)`, keeping the original text in annotate mode (see the module doc)."""
    if mode != "annotate" or not stage.rewrites_text:
        return stage.apply(frame, context)
    has_rewritten = REWRITTEN_TEXT in frame.columns
    working = F.coalesce(F.col(REWRITTEN_TEXT), F.col(TEXT)) if has_rewritten else F.col(TEXT)
    prepared = frame.withColumn(_ORIGINAL, F.col(TEXT)).withColumn(TEXT, working)
    if has_rewritten:
        prepared = prepared.drop(REWRITTEN_TEXT)
    output, report = stage.apply(prepared, context)
    moved_back = output.withColumn(REWRITTEN_TEXT, F.col(TEXT)).withColumn(TEXT, F.col(_ORIGINAL)).drop(_ORIGINAL)
    return moved_back, report
