"""`decontaminate`: flag or remove documents that contain benchmark items (word n-gram overlap).

Each benchmark is a JSON-lines file whose `fields` make an item's text. A document that contains one of an
item's normalized word n-grams (`ngram`, 13 by default; an item shorter than that is looked up whole) is
`contaminated`; the stage records the first matched item by position (`benchmark`, `item` = its 0-based line,
the matched character span `start`..`end` and its words `matched`), the number of matched n-grams, and one
boolean per benchmark (named after it) so that statistics count documents per benchmark. In `mode: filter`
contaminated documents go to excluded/, in `mode: annotate` they are flagged.

The index (a few MB for GSM8K + HumanEval + MMLU) is built once per Python worker from the benchmark files,
which every executor must be able to read (local/shared paths or object-store URIs); documents stream
through in Arrow batches with the rest of the fused row pass.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pyspark.sql.types import BooleanType, LongType, StringType, StructField

from thresher.errors import ThresherError
from thresher.io.benchmarks import read_items
from thresher.stages.base import ConfigPath, RowStage, StageParams, StageResult, worker_resource
from thresher.stages.fused import DocBatch
from thresher.stages.registry import register
from thresher.text.decontam import BenchmarkIndex, Item, build_index, find

CONTAMINATED = "contaminated"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FIXED_FIELDS = ("keep", "reason", "benchmark", "item", "start", "end", "matched", "ngrams")
# The matched words kept in the result, for reading by a person; the span gives the full extent.
_MATCHED_CHARS = 300


class BenchmarkSpec(StageParams):
    name: str = Field(description="benchmark name (lower-case letters, digits, _): the `benchmark` value and a flag")
    path: ConfigPath = Field(description="JSON-lines file of items (.jsonl, .jsonl.gz, .jsonl.zst), one per line")
    fields: list[str] = Field(
        min_length=1, description="fields joined with spaces into an item's text; list values are joined too"
    )

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 1-64 lower-case letters, digits or '_', starting with a letter")
        if value in _FIXED_FIELDS:
            raise ValueError(f"collides with a result field; not one of {', '.join(_FIXED_FIELDS)}")
        return value

    @model_validator(mode="after")
    def _readable(self, info: ValidationInfo) -> BenchmarkSpec:
        # The first item proves the file is there and has the fields, before Spark starts.
        try:
            first = next(iter(read_items(self.path, self.fields)), None)
        except (OSError, ThresherError) as error:
            raise ValueError(f"benchmark {self.name!r}: {error}") from None
        if first is None:
            raise ValueError(f"benchmark {self.name!r}: {self.path} holds no item (every line is blank)")
        return self


class DecontaminateParams(StageParams):
    benchmarks: list[BenchmarkSpec] = Field(
        default_factory=list, description="benchmark files: [{name, path, fields: [...]}, ...]"
    )
    ngram: int = Field(default=13, ge=1, le=64, description="words per n-gram (GPT-3 used 13)")

    @model_validator(mode="after")
    def _some_benchmarks(self) -> DecontaminateParams:
        if not self.benchmarks:
            raise ValueError("benchmarks: required, a list of {name, path, fields}")
        names = [b.name for b in self.benchmarks]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"benchmark names must be unique: {', '.join(duplicated)}")
        return self


def load_index(params: DecontaminateParams) -> BenchmarkIndex:
    """Read every benchmark file and index its items."""
    names = [b.name for b in params.benchmarks]

    def items() -> Any:
        for number, spec in enumerate(params.benchmarks):
            for line, text in read_items(spec.path, spec.fields):
                yield Item(number, line, text)

    return build_index(names, items(), params.ngram)


@register
class Decontaminate(RowStage):
    """Flag or remove documents containing an n-gram of a benchmark item."""

    id = "decontaminate"
    Params = DecontaminateParams
    params: DecontaminateParams

    def signal_fields(self) -> list[StructField]:
        return [
            StructField("benchmark", StringType()),
            StructField("item", LongType()),
            StructField("start", LongType()),
            StructField("end", LongType()),
            StructField("matched", StringType()),
            StructField("ngrams", LongType()),
            *(StructField(b.name, BooleanType()) for b in self.params.benchmarks),
        ]

    def index(self) -> BenchmarkIndex:
        return worker_resource(f"thresher.decontaminate:{self.fingerprint()}", lambda: load_index(self.params))

    def setup(self) -> None:
        self.index()

    def process(self, batch: DocBatch) -> StageResult:
        index = self.index()
        names = [b.name for b in self.params.benchmarks]
        signals: dict[str, list[Any]] = {
            k: [] for k in ("benchmark", "item", "start", "end", "matched", "ngrams", *names)
        }
        keep, reason = [], []
        for text in batch.texts:
            match = find(index, text)
            keep.append(match is None)
            reason.append(None if match is None else CONTAMINATED)
            signals["benchmark"].append(match.benchmark if match else None)
            signals["item"].append(match.item if match else None)
            signals["start"].append(match.start if match else None)
            signals["end"].append(match.end if match else None)
            signals["matched"].append(match.matched[:_MATCHED_CHARS] if match else None)
            signals["ngrams"].append(match.ngrams if match else 0)
            for name in names:
                signals[name].append(match is not None and name in match.benchmarks)
        return StageResult(keep=keep, reason=reason, signals=signals)
