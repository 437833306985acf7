"""`normalize`: Unicode normalization (NFC by default), line breaks, whitespace and control characters."""

from __future__ import annotations

from pydantic import Field
from pyspark.sql.types import BooleanType, LongType, StructField

from thresher.stages.base import RowStage, StageParams, StageResult
from thresher.stages.fused import DocBatch
from thresher.stages.registry import register
from thresher.text.normalize import UnicodeForm, normalize_text

EMPTY_AFTER_NORMALIZE = "empty_after_normalize"


class NormalizeParams(StageParams):
    form: UnicodeForm = Field(
        default="NFC", description="Unicode normalization form (none: leave code points as they are)."
    )
    strip_control: bool = Field(default=True, description="Remove control characters other than tab and line breaks.")
    collapse_spaces: bool = Field(default=True, description="Collapse runs of horizontal whitespace into one space.")
    # Longer runs of blank lines are cut to this many.
    max_blank_lines: int = Field(default=2, ge=0)


@register
class Normalize(RowStage):
    """Rewrites text; drops only documents left empty (e.g. made of control characters)."""

    id = "normalize"
    Params = NormalizeParams
    rewrites_text = True
    params: NormalizeParams

    def signal_fields(self) -> list[StructField]:
        return [StructField("changed", BooleanType()), StructField("control_chars_removed", LongType())]

    def process(self, batch: DocBatch) -> StageResult:
        p = self.params
        texts, changed, removed_counts, keep, reasons = [], [], [], [], []
        for text in batch.texts:
            new, removed = normalize_text(text, p.form, p.strip_control, p.collapse_spaces, p.max_blank_lines)
            texts.append(new)
            changed.append(new != text)
            removed_counts.append(removed)
            keep.append(bool(new))
            reasons.append(None if new else EMPTY_AFTER_NORMALIZE)
        return StageResult(
            keep=keep,
            reason=reasons,
            signals={"changed": changed, "control_chars_removed": removed_counts},
            text=texts,
        )
