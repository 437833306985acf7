"""`badwords`: a word-list filter (as C4 drops pages with words of a bad-word list), per language.

`lists` maps a language code to a list file (one lowercase word or phrase per line, '#' comments); the
default is a short English list written for thresher (resources/badwords/en.txt). A document's language is
`language.lang` when the language stage ran, else `default_language`; languages without a list are kept. In
languages written with spaces, entries match whole words; in those written without (zh, ja, th, ...) they
match anywhere. The fraction is matches per word (words as the heuristic rules count them); documents above
`max_fraction` are dropped, with a reason naming the fraction they exceeded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from pydantic import Field, field_validator
from pyspark.sql.types import DoubleType, LongType, StructField

from thresher.errors import ConfigError
from thresher.stages.base import ConfigPath, RowStage, StageParams, StageResult, worker_resource
from thresher.stages.fused import DocBatch
from thresher.stages.quality._language import doc_languages
from thresher.stages.registry import register
from thresher.text.analysis import ANALYSIS_KEY, DocAnalysis
from thresher.text.words import UNSEGMENTED_LANGUAGES, base_language, word_splitter


def bundled_list(language: str) -> str:
    return str(files("thresher") / "resources" / "badwords" / f"{language}.txt")


class BadwordsParams(StageParams):
    # Language code -> list file.
    lists: dict[str, ConfigPath] = Field(default_factory=lambda: {"en": bundled_list("en")})
    default_language: str = Field(
        default="en",
        description="Language code of documents without a `language.lang` from an earlier `language` stage.",
    )
    # Documents with more bad-word matches per word are dropped; 0 drops any document with a match (as C4).
    max_fraction: float = Field(default=0.0, ge=0, le=1)

    @field_validator("lists")
    @classmethod
    def _files_exist(cls, lists: dict[str, str]) -> dict[str, str]:
        missing = [f"{k}: {p}" for k, p in lists.items() if "://" not in p and not Path(p).is_file()]
        if missing:
            raise ValueError(f"list file(s) not found: {', '.join(missing)}")
        return {base_language(k): p for k, p in lists.items()}


def load_pattern(path: str, language: str) -> re.Pattern[str] | None:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ConfigError(f"stages.badwords: cannot read list {path}: {error}") from None
    entries = sorted({e for line in lines if (e := line.split("#", 1)[0].strip().lower())}, key=len, reverse=True)
    if not entries:
        return None
    alternatives = "|".join(map(re.escape, entries))
    if base_language(language) in UNSEGMENTED_LANGUAGES:
        return re.compile(alternatives)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _loader(path: str, language: str) -> Callable[[], re.Pattern[str] | None]:
    return lambda: load_pattern(path, language)


@register
class Badwords(RowStage):
    """Word-list filter per language: counts list matches, drops documents above a fraction of their words."""

    id = "badwords"
    Params = BadwordsParams
    params: BadwordsParams

    def signal_fields(self) -> list[StructField]:
        return [StructField("badwords", LongType()), StructField("badword_fraction", DoubleType())]

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        return {"badword_fraction": (None, self.params.max_fraction)}

    def setup(self) -> None:
        self._patterns = {
            language: worker_resource(f"badwords:{language}:{path}", _loader(path, language))
            for language, path in self.params.lists.items()
        }

    def process(self, batch: DocBatch) -> StageResult:
        languages = doc_languages(batch, self.params.default_language)
        analyses = batch.per_doc(ANALYSIS_KEY, DocAnalysis)
        counts: list[int | None] = []
        fractions: list[float | None] = []
        reasons: list[str | None] = []
        for analysis, language in zip(analyses, languages, strict=True):
            pattern = self._patterns.get(base_language(language))
            if pattern is None:
                counts.append(None)
                fractions.append(None)
                reasons.append(None)
                continue
            found = len(pattern.findall(analysis.text.lower()))
            words = len(analysis.words(word_splitter(language)))
            fraction = found / words if words else 0.0
            counts.append(found)
            fractions.append(fraction)
            reasons.append(self.decide(found, fraction))
        return StageResult(
            keep=[r is None for r in reasons],
            reason=reasons,
            signals={"badwords": counts, "badword_fraction": fractions},
        )

    def decide(self, found: int, fraction: float) -> str | None:
        limit = self.params.max_fraction
        if found and fraction > limit:
            return f"badword_fraction>{limit:g}"
        return None
