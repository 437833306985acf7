"""Shared shape of the heuristic rule stages: per document, compute signals (a dict) from the shared
`DocAnalysis`, then decide with the parameters of the document's language. A stage that rewrites text puts
the new text under `NEW_TEXT` in its signals."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from thresher.stages.base import RowStage, StageResult
from thresher.stages.fused import DocBatch
from thresher.stages.quality._language import PerLanguageParams, doc_languages
from thresher.text.analysis import ANALYSIS_KEY, DocAnalysis, prepare_line_piece_counts, prepare_words
from thresher.text.words import WordSplitter, word_splitter

NEW_TEXT = "text"


class HeuristicStage(RowStage):
    """A rule set: `signals` measures one document, `decide` returns the reason to drop it (None keeps it)."""

    Params: ClassVar[type[PerLanguageParams]]
    params: PerLanguageParams
    # Whether `signals` reads the documents' words (`DocAnalysis.words`): they are then split for the whole batch
    # at once before the first document is measured.
    uses_words: ClassVar[bool] = True
    # Whether it reads `DocAnalysis.line_piece_counts`: counted for the whole batch at once, likewise.
    uses_line_pieces: ClassVar[bool] = False

    @abstractmethod
    def signals(self, analysis: DocAnalysis, splitter: WordSplitter, params: Any) -> dict[str, Any]:
        """The signals of one document (every field of `signal_fields`)."""

    @abstractmethod
    def decide(self, signals: dict[str, Any], params: Any) -> str | None:
        """The reason to drop a document with these signals, or None to keep it."""

    def process(self, batch: DocBatch) -> StageResult:
        names = [f.name for f in self.signal_fields()]
        languages = doc_languages(batch, self.params.default_language)
        analyses = batch.per_doc(ANALYSIS_KEY, DocAnalysis)
        columns: dict[str, list[Any]] = {name: [] for name in names}
        reasons: list[str | None] = []
        texts: list[str] = []
        # A batch has few languages: look each one's parameters and splitter up once, not once per document.
        setups: dict[str, tuple[Any, WordSplitter]] = {}
        for language in languages:
            if language not in setups:
                params = self.params.for_language(language)
                setups[language] = (params, word_splitter(language, params.segmentation))
        if self.uses_words:
            by_splitter: dict[str, tuple[WordSplitter, list[DocAnalysis]]] = {}
            for analysis, language in zip(analyses, languages, strict=True):
                splitter = setups[language][1]
                by_splitter.setdefault(splitter.name, (splitter, []))[1].append(analysis)
            for splitter, group in by_splitter.values():
                prepare_words(group, splitter)
        if self.uses_line_pieces:
            prepare_line_piece_counts(analyses)
        appends = [columns[name].append for name in names]
        signals_of, decide = self.signals, self.decide
        for analysis, language in zip(analyses, languages, strict=True):
            params, splitter = setups[language]
            signals = signals_of(analysis, splitter, params)
            for name, append in zip(names, appends, strict=True):
                append(signals[name])
            reasons.append(decide(signals, params))
            if self.rewrites_text:
                texts.append(signals[NEW_TEXT])
        return StageResult(
            keep=[r is None for r in reasons],
            reason=reasons,
            signals=columns,
            text=texts if self.rewrites_text else None,
        )


def above(value: float | None, limit: float | None) -> bool:
    """`value > limit`, with a null or zero limit meaning the rule is off (as in the reference)."""
    return bool(limit) and value is not None and value > limit  # type: ignore[operator]


def below(value: float | None, limit: float | None) -> bool:
    """`value < limit`, with a null or zero limit meaning the rule is off (as in the reference)."""
    return bool(limit) and value is not None and value < limit  # type: ignore[operator]
