"""`extract`: HTML -> main text (trafilatura or Resiliparse), on the executors, in Arrow batches.

Documents read from WARC `response` records carry their decoded HTML in `text`; this stage replaces it with
the main text. WET `conversion` records are text already and pass unchanged (`extracted` false). Documents
whose extraction yields nothing, times out or fails are removed with reason `empty_extraction`,
`extraction_timeout` or `extraction_failed` (`html_too_large` over the size limit); their text is emptied
unless `keep_html` keeps the page.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pyspark.sql.types import BooleanType, DoubleType, LongType, StringType, StructField

from thresher.stages.base import RowStage, StageParams, StageResult
from thresher.stages.fused import DocBatch
from thresher.stages.registry import register
from thresher.text.html_extract import ExtractOptions, extract_main_text

_TEXT_RECORD_TYPES = frozenset({"conversion"})


class ExtractParams(StageParams):
    extractor: Literal["trafilatura", "resiliparse"] = Field(
        default="trafilatura",
        description="trafilatura (FineWeb's choice, best precision) or resiliparse (several times faster)",
    )
    favor_precision: bool = Field(default=True, description="trafilatura: prefer less text and less boilerplate")
    favor_recall: bool = Field(default=False, description="trafilatura: prefer more text (overrides precision)")
    include_comments: bool = Field(default=False, description="trafilatura: keep user comments under the text")
    include_tables: bool = Field(default=True, description="trafilatura: keep the text of tables")
    include_links: bool = Field(default=False, description="trafilatura: keep link targets in the text")
    deduplicate: bool = Field(
        default=True, description="trafilatura: drop segments repeated within a page (FineWeb/datatrove: on)"
    )
    main_content: bool = Field(
        default=True, description="resiliparse: only main-content elements (else every visible text)"
    )
    preserve_formatting: bool = Field(
        default=True, description="resiliparse: keep paragraph breaks and list items on lines of their own"
    )
    metadata: bool = Field(
        default=False, description="also extract title and date (trafilatura: several times slower)"
    )
    timeout_seconds: float = Field(
        default=10.0, ge=0, description="per-document time limit; longer pages are removed (0: no limit)"
    )
    max_html_chars: int = Field(
        default=2_000_000, gt=0, description="longer pages are removed with reason html_too_large"
    )
    keep_html: bool = Field(default=False, description="keep the page's HTML in the signal extract.html")

    def options(self) -> ExtractOptions:
        return ExtractOptions(
            extractor=self.extractor,
            favor_precision=self.favor_precision,
            favor_recall=self.favor_recall,
            include_comments=self.include_comments,
            include_tables=self.include_tables,
            include_links=self.include_links,
            deduplicate=self.deduplicate,
            main_content=self.main_content,
            preserve_formatting=self.preserve_formatting,
            metadata=self.metadata,
            timeout_seconds=self.timeout_seconds,
            max_html_chars=self.max_html_chars,
        )


def record_type(meta: Any) -> str | None:
    """meta["warc_type"] of a document (meta arrives as a dict or, from Arrow, as (key, value) pairs)."""
    if not meta:
        return None
    if isinstance(meta, dict):
        return meta.get("warc_type")
    return next((v for k, v in meta if k == "warc_type"), None)


@register
class Extract(RowStage):
    """HTML main-text extraction (trafilatura or Resiliparse) with a per-document time and size limit."""

    id = "extract"
    Params = ExtractParams
    rewrites_text = True
    params: ExtractParams

    def signal_fields(self) -> list[StructField]:
        fields = [
            StructField("extracted", BooleanType()),
            StructField("html_chars", LongType()),
            StructField("seconds", DoubleType()),
            StructField("title", StringType()),
            StructField("date", StringType()),
        ]
        if self.params.keep_html:
            fields.append(StructField("html", StringType()))
        return fields

    def setup(self) -> None:
        self._options = self.params.options()

    def process(self, batch: DocBatch) -> StageResult:
        options = getattr(self, "_options", None) or self.params.options()
        metas = batch.column("meta") if batch.has_column("meta") else [None] * len(batch)
        keep: list[bool] = []
        reasons: list[str | None] = []
        texts: list[str] = []
        signals: dict[str, list[Any]] = {name: [] for name in ("extracted", "html_chars", "seconds", "title", "date")}
        for html, meta in zip(batch.texts, metas, strict=True):
            if record_type(meta) in _TEXT_RECORD_TYPES:
                keep.append(True)
                reasons.append(None)
                texts.append(html)
                for name, value in (("extracted", False), ("html_chars", None), ("seconds", None)):
                    signals[name].append(value)
                signals["title"].append(None)
                signals["date"].append(None)
                continue
            result = extract_main_text(html, options)
            keep.append(result.reason is None)
            reasons.append(result.reason)
            texts.append(result.text)
            signals["extracted"].append(result.reason is None)
            signals["html_chars"].append(len(html))
            signals["seconds"].append(result.seconds)
            signals["title"].append(result.title)
            signals["date"].append(result.date)
        if self.params.keep_html:
            signals["html"] = list(batch.texts)
        return StageResult(keep=keep, reason=reasons, signals=signals, text=texts)
