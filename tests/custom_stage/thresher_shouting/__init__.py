"""A custom thresher stage: drops documents written mostly in capital letters."""

from pydantic import Field
from pyspark.sql.types import DoubleType, StructField

from thresher.stages.base import RowStage, StageParams, StageResult
from thresher.stages.fused import DocBatch
from thresher.stages.registry import register


class ShoutingParams(StageParams):
    max_upper_fraction: float = Field(
        default=0.5, ge=0, le=1, description="Largest share of upper-case letters among a document's letters."
    )


def upper_fraction(text: str) -> float:
    """Share of upper-case letters among the letters of `text` (0 without letters)."""
    letters = [c for c in text if c.isalpha()]
    return sum(c.isupper() for c in letters) / len(letters) if letters else 0.0


@register
class Shouting(RowStage):
    """Drops documents written mostly in capital letters (reason `shouting`)."""

    id = "shouting"
    Params = ShoutingParams
    params: ShoutingParams

    def signal_fields(self) -> list[StructField]:
        return [StructField("upper_fraction", DoubleType())]

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        return {"upper_fraction": (None, self.params.max_upper_fraction)}

    def process(self, batch: DocBatch) -> StageResult:
        fractions = [upper_fraction(text) for text in batch.texts]
        keep = [f <= self.params.max_upper_fraction for f in fractions]
        return StageResult(keep, [None if k else "shouting" for k in keep], {"upper_fraction": fractions})
