"""`exact_dedup`: documents whose normalized texts are identical; one per group is kept."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql.types import StringType, StructField

from thresher.dedup.batches import TextHashBatches
from thresher.dedup.by_key import dedup_by_key
from thresher.dedup.clusters import CLUSTER_FIELDS
from thresher.dedup.index import EARLIER_RUN_FIELD
from thresher.dedup.keep import KeepParams
from thresher.dedup.normalize import TextNormalization
from thresher.schema import TEXT
from thresher.stages.base import GlobalStage, StageContext, StageReport
from thresher.stages.dedup_index import IndexParams, open_index
from thresher.stages.registry import register

EXACT_DUPLICATE = "exact_duplicate"


class ExactDedupParams(KeepParams, IndexParams):
    # Differences ignored when comparing texts (default: whitespace only).
    normalization: TextNormalization = TextNormalization()


@register
class ExactDedup(GlobalStage):
    """Exact duplicates: same xxh3-128 hash of the normalized text."""

    id = "exact_dedup"
    Params = ExactDedupParams
    params: ExactDedupParams

    def signal_fields(self) -> list[StructField]:
        # text_hash: xxh3-128 (hex) of the normalized text; null when nothing is left after normalization
        # (such documents are never duplicates).
        index_fields = [EARLIER_RUN_FIELD] if self.params.index else []
        return [*CLUSTER_FIELDS, StructField("text_hash", StringType(), True), *index_fields]

    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        index = open_index(self.params, ctx, self.id, "text_hash", self.params.normalization.model_dump(mode="json"))
        keys = TextHashBatches(self.params.normalization)
        return dedup_by_key(
            df, ctx.scratch_space, self.id, self.params, keys, TEXT, EXACT_DUPLICATE, "text_hash", index
        )
