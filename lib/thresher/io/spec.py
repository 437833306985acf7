"""What the readers need to know about an input.

The pipeline's inputs are configured by `thresher.conf.InputConfig`; the readers in `thresher.io` only need the
attributes named by `InputSpec`, so `io` does not import the config layer above it. `CorpusSpec` describes an
extra corpus read by `thresher.io.corpus.read_corpus`.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

InputFormat = Literal["auto", "jsonl", "parquet", "delta", "run"]
DuplicateIds = Literal["rename", "quarantine"]
SourceBy = Literal["input", "file"]


class FieldSpec(Protocol):
    """Where the canonical fields are in an input record (dotted paths reach into nested objects)."""

    @property
    def id(self) -> str | None: ...
    @property
    def text(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def meta(self) -> list[str] | None: ...


class InputSpec(Protocol):
    """One input as the readers see it; `thresher.conf.InputConfig` and `CorpusSpec` both fit."""

    @property
    def path(self) -> list[str]: ...
    @property
    def format(self) -> InputFormat: ...
    @property
    def source(self) -> str | None: ...
    @property
    def source_by(self) -> SourceBy: ...
    @property
    def fields(self) -> FieldSpec: ...
    @property
    def max_text_chars(self) -> int: ...
    @property
    def duplicate_ids(self) -> DuplicateIds: ...
    def model_dump(self, *, mode: str = ...) -> dict[str, Any]: ...


class CorpusFields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = "id"
    text: str = "text"
    url: str | None = None
    # Fields copied into `meta`; an empty list copies none (an extra corpus rarely needs them).
    meta: list[str] | None = Field(default_factory=list)


class CorpusSpec(BaseModel):
    """An extra corpus: paths in any format thresher reads, with the field names of its records."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: list[str] = Field(min_length=1)
    format: InputFormat = "auto"
    source: str | None = None
    source_by: SourceBy = "input"
    fields: CorpusFields = CorpusFields()
    max_text_chars: int = Field(default=1_000_000, gt=0)
    duplicate_ids: DuplicateIds = "rename"
