"""`url_dedup`: documents with the same normalized URL; one per URL is kept."""

from __future__ import annotations

from pydantic import Field
from pyspark.sql import DataFrame
from pyspark.sql.types import StringType, StructField

from thresher.dedup.batches import UrlKeyBatches
from thresher.dedup.by_key import dedup_by_key
from thresher.dedup.clusters import CLUSTER_FIELDS
from thresher.dedup.index import EARLIER_RUN_FIELD
from thresher.dedup.keep import KeepParams
from thresher.dedup.urls import UrlNormalization
from thresher.schema import URL
from thresher.stages.base import GlobalStage, StageContext, StageReport
from thresher.stages.dedup_index import IndexParams, open_index
from thresher.stages.registry import register

DUPLICATE_URL = "duplicate_url"


class UrlDedupParams(KeepParams, IndexParams):
    normalization: UrlNormalization = Field(
        default=UrlNormalization(), description="Differences between URLs that are ignored."
    )


@register
class UrlDedup(GlobalStage):
    """Same page fetched twice: same normalized URL (documents without a usable URL are kept)."""

    id = "url_dedup"
    Params = UrlDedupParams
    params: UrlDedupParams

    def signal_fields(self) -> list[StructField]:
        # url_key: the normalized URL; null without a URL that has a host.
        index_fields = [EARLIER_RUN_FIELD] if self.params.index else []
        return [*CLUSTER_FIELDS, StructField("url_key", StringType(), True), *index_fields]

    def apply(self, df: DataFrame, ctx: StageContext) -> tuple[DataFrame, StageReport]:
        index = open_index(self.params, ctx, self.id, "url_key", self.params.normalization.model_dump(mode="json"))
        keys = UrlKeyBatches(self.params.normalization)
        return dedup_by_key(df, ctx.scratch_space, self.id, self.params, keys, URL, DUPLICATE_URL, "url_key", index)
