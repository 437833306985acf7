"""`rehydrate`: FineWeb-2's deduplication-informed upsampling: a `repeat` count per kept document.

Near-duplicate dedup keeps one document per cluster and records the cluster's size (`minhash_dedup.cluster_size`).
FineWeb-2 found that documents with a middling number of duplicates are filtered least often, so it repeats them
more (up to `max_repeat` copies) and leaves documents with none or very many duplicates at one copy. This stage
writes the number of copies, `rehydrate.repeat`, from the size of the document's cluster and a table of copies per
cluster size (thresher.select.rehydration): FineWeb-2's published table for the document's language
(`preset: fineweb2`, 1,856 languages, ODC-By), a table of your own per language (`languages:`) or for every
language (`table:`). It removes nothing; `budget` with `repeat_by: rehydrate.repeat` counts each document that
many times, and a trainer reading kept/ repeats it that many times (epochs).
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, model_validator
from pyspark.sql.types import LongType, StringType, StructField

from thresher.core.languages import LANGUAGE_COLUMN
from thresher.select.rehydration import PRESET_MAX_REPEATS, StepTable, check_table, preset_table
from thresher.stages.base import RowStage, StageParams, StageResult
from thresher.stages.fused import DocBatch
from thresher.stages.quality._presets import load_settings
from thresher.stages.registry import register
from thresher.text.langcodes import parse, preferred

CLUSTER_SIZE_COLUMN = "minhash_dedup.cluster_size"
SCRIPT_COLUMN = "language.script"


class RehydrateParams(StageParams):
    preset: Literal["fineweb2"] | None = Field(
        default="fineweb2",
        description="Copies per cluster size for each language: 'fineweb2' (FineWeb-2's published upsampling "
        "weights, 1,856 languages, ODC-By 1.0) or null (only `languages:` and `table:`).",
    )
    max_repeat: int = Field(
        default=10,
        ge=1,
        description="Most copies of a document; with preset fineweb2 it picks FineWeb-2's table for that maximum "
        "(3 to 10).",
    )
    table: dict[int, int] = Field(
        default_factory=dict,
        description="Cluster size -> copies for documents whose language has no table (the preset does not cover "
        "it, or no language is known); each size applies up to the next listed size, e.g. {1: 1, 2: 3, 20: 1}. "
        "Empty: one copy.",
    )
    languages: dict[str, dict[int, int]] = Field(
        default_factory=dict,
        description="Language code -> its own cluster size -> copies table, winning over the preset "
        "(any code spelling: 'it', 'ita', 'ita_Latn').",
    )

    @model_validator(mode="after")
    def _within_max_repeat(self) -> RehydrateParams:
        if self.preset == "fineweb2" and self.max_repeat not in PRESET_MAX_REPEATS:
            raise ValueError(
                f"max_repeat {self.max_repeat}: FineWeb-2 published weights for 3 to 10 copies; use preset: null "
                "with your own table for other values"
            )
        tables = {"table": self.table, **{f"languages.{k}": v for k, v in self.languages.items()}}
        for name, table in tables.items():
            try:
                check_table(table)
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from None
            over = {size: copies for size, copies in table.items() if copies > self.max_repeat}
            if over:
                raise ValueError(f"{name}: copies {over} exceed max_repeat {self.max_repeat}")
        for code in self.languages:
            if not parse(code).known:
                raise ValueError(f"languages.{code}: not a language code (ISO 639-1, 639-3 or lang_Script)")
        return self


@register
class Rehydrate(RowStage):
    """Number of copies of each kept document (`repeat`) from its near-duplicate cluster size (FineWeb-2)."""

    id = "rehydrate"
    Params = RehydrateParams
    params: RehydrateParams
    requires = ("minhash_dedup",)

    def signal_fields(self) -> list[StructField]:
        # table: where the copies came from: the preset's lang_Script entry, 'languages.<code>', 'table'.
        return [
            StructField("cluster_size", LongType()),
            StructField("repeat", LongType()),
            StructField("table", StringType()),
        ]

    @cached_property
    def _tables(self) -> tuple[dict[str, StepTable], StepTable]:
        p = self.params
        return {preferred(code): StepTable(t) for code, t in p.languages.items()}, StepTable(p.table)

    @cached_property
    def _by_language(self) -> dict[tuple[str, str | None], tuple[str, StepTable]]:
        # (language, script) -> its table, filled as documents show up: few languages per batch, 1,856 in the preset.
        return {}

    def table_for(self, language: str | None, script: str | None) -> tuple[str, StepTable]:
        """The table of a document language (and script, when the language stage gave one)."""
        found = self._by_language.get((language or "", script))
        if found is None:
            found = self._by_language[(language or "", script)] = self._find_table(language, script)
        return found

    def _find_table(self, language: str | None, script: str | None) -> tuple[str, StepTable]:
        overrides, fallback = self._tables
        if language:
            own = overrides.get(preferred(language))
            if own is not None:
                return f"languages.{preferred(language)}", own
            if self.params.preset:
                key = load_settings("fineweb2").key(f"{language}_{script}" if script else language)
                table = preset_table(self.params.max_repeat, key) if key is not None else None
                if key is not None and table is not None:
                    return key, StepTable(table)
        return "table", fallback

    def process(self, batch: DocBatch) -> StageResult:
        sizes = batch.column(CLUSTER_SIZE_COLUMN)
        languages = _optional_column(batch, LANGUAGE_COLUMN)
        scripts = _optional_column(batch, SCRIPT_COLUMN)
        repeats: list[int] = []
        names: list[str] = []
        for size, language, script in zip(sizes, languages, scripts, strict=True):
            name, table = self.table_for(language, script)
            repeats.append(min(table.repeat(size), self.params.max_repeat))
            names.append(name)
        n = len(batch)
        return StageResult(
            keep=[True] * n,
            reason=[None] * n,
            signals={"cluster_size": list(sizes), "repeat": repeats, "table": names},
        )


def _optional_column(batch: DocBatch, name: str) -> list[str | None]:
    try:
        return batch.column(name)
    except KeyError:
        return [None] * len(batch)
