"""Annotate mode keeps every document and its input text in `text`; what rewriting stages make of it goes to
`rewritten_text` (thresher.schema.REWRITTEN_TEXT), the text a filter run would carry on. Row stages handle
this in the fused pass; this module does it for global stages, which read (and some rewrite) `text`
themselves: they are handed the rewritten text as `text`, and their output is moved back.

A global stage's decision depends on the other documents (a duplicate is kept or not depending on which copies
exist; `refine` counts lines over the corpus; a budget shares tokens out). So in annotate mode a global stage
decides over the documents still alive, those no earlier stage of the run excluded, exactly the documents a
filter run would hand it; the others keep their text and a null result column (the stage did not decide on
them). Selecting with the same decisions (`thresher select`, all `<stage>.keep`) then gives exactly the filter
run's kept documents and texts."""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from thresher.schema import KEEP, REWRITTEN_TEXT, TEXT
from thresher.stages.base import GlobalStage, Mode, StageContext, StageReport

_ORIGINAL = "__annotate_original_text"


def apply_global(
    stage: GlobalStage,
    frame: DataFrame,
    context: StageContext,
    mode: Mode,
    earlier_stage_ids: Sequence[str] = (),
) -> tuple[DataFrame, StageReport]:
    """`stage.apply(frame)`; in annotate mode over the alive documents, on their rewritten text, keeping the
    original text and every other document (see the module doc)."""
    if mode != "annotate":
        return stage.apply(frame, context)
    decided = [s for s in earlier_stage_ids if s in frame.columns]
    if not decided:
        return _on_working_text(stage, frame, context)
    alive = alive_condition(decided)
    output, report = _on_working_text(stage, frame.where(alive), context)
    # The documents an earlier stage excluded: unchanged, with null result columns (allowMissingColumns).
    excluded = frame.where(~alive)
    merged = output.unionByName(excluded, allowMissingColumns=True)
    return merged.select(*output.columns), report


def alive_condition(stage_ids: Sequence[str]) -> Column:
    """True for a document that none of `stage_ids` excluded (a null result: the stage did not decide on it,
    because an earlier one had excluded it already)."""
    return reduce(
        lambda acc, stage_id: acc & F.coalesce(F.col(stage_id).getField(KEEP), F.lit(True)), stage_ids, F.lit(True)
    )


def _on_working_text(stage: GlobalStage, frame: DataFrame, context: StageContext) -> tuple[DataFrame, StageReport]:
    has_rewritten = REWRITTEN_TEXT in frame.columns
    if not has_rewritten and not stage.rewrites_text:
        return stage.apply(frame, context)
    working = F.coalesce(F.col(REWRITTEN_TEXT), F.col(TEXT)) if has_rewritten else F.col(TEXT)
    prepared = frame.withColumn(_ORIGINAL, F.col(TEXT)).withColumn(TEXT, working)
    if has_rewritten:
        prepared = prepared.drop(REWRITTEN_TEXT)
    output, report = stage.apply(prepared, context)
    moved_back = output.withColumn(REWRITTEN_TEXT, F.col(TEXT)).withColumn(TEXT, F.col(_ORIGINAL)).drop(_ORIGINAL)
    return moved_back, report
