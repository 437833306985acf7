"""`keep_if`: keep the documents for which a Spark SQL condition over earlier columns holds.

Applies decisions recorded by an annotate run when selecting from it ("score once, select many"), e.g.
`length.keep AND quality_fasttext.score >= 0.3 AND language.lang = 'en'`. A condition that is null for a
document (a missing score) counts as false.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator
from pyspark.errors import AnalysisException, ParseException
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType

from thresher.errors import ThresherError
from thresher.schema import KEEP, REASON
from thresher.stages.base import GlobalStage, StageContext, StageParams, StageReport
from thresher.stages.registry import register

_REASON = re.compile(r"^[a-z][a-z0-9_:]*$")


class KeepIfParams(StageParams):
    condition: str = Field(
        default="true",
        description="Spark SQL boolean expression over earlier columns; documents for which it is not true are "
        "removed (e.g. `length.keep AND quality_fasttext.score >= 0.3`).",
    )
    # Reason recorded for documents the condition rejects.
    reason: str = Field(default="condition_false")

    @field_validator("reason")
    @classmethod
    def _short_code(cls, value: str) -> str:
        if not _REASON.match(value):
            raise ValueError("a reason is a short snake_case code")
        return value


@register
class KeepIf(GlobalStage):
    """Keep documents for which a Spark SQL condition over earlier stage columns is true."""

    id = "keep_if"
    Params = KeepIfParams
    params: KeepIfParams

    def signal_fields(self) -> list:
        return []

    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        report = StageReport()
        p = self.params
        base = df.drop(self.id) if self.id in df.columns else df
        try:
            condition = F.expr(p.condition)
            kind = base.select(condition.alias("_probe")).schema["_probe"].dataType
        except (AnalysisException, ParseException) as error:
            raise ThresherError(
                f"stage {self.id}: condition {p.condition!r} cannot be evaluated: {str(error).splitlines()[0]}"
            ) from None
        if not isinstance(kind, BooleanType):
            raise ThresherError(f"stage {self.id}: condition {p.condition!r} is {kind.simpleString()}, not boolean")
        keep = F.coalesce(condition, F.lit(False))
        result = F.struct(keep.alias(KEEP), F.when(~keep, F.lit(p.reason)).alias(REASON))
        return base.select(*base.columns, result.alias(self.id)), report
