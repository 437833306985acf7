"""Per-document analysis shared by the heuristic quality stages of one fused pass.

A `DocAnalysis` is created once per document (`DocBatch.per_doc(ANALYSIS_KEY, DocAnalysis)`) and computes
what several rule sets need on first use only: the lines and how many whitespace-separated pieces each has, the
words (per word splitter) as token-id arrays with their lengths and flags, and the number of sentences of each
line. Stages that rewrite text make the fused pass build a fresh one for the new text. `prepare_words` and
`prepare_line_piece_counts` compute the words and the pieces of many documents at once (see `batch_words`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from operator import attrgetter

import numpy as np
import pyarrow as pa

from thresher.text.batch_words import exclusive_cumsum, split_batch
from thresher.text.repetition import WordSequence
from thresher.text.sentences import sentences_per_line
from thresher.text.word_counts import word_counts_of
from thresher.text.words import WordSplitter

ANALYSIS_KEY = "thresher.analysis"


class DocAnalysis:
    __slots__ = (
        "_line_piece_counts",
        "_line_sentences",
        "_lines",
        "_newline_parts",
        "_sequences",
        "_tokens_per_piece",
        "text",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self._lines: list[str] | None = None
        self._newline_parts: list[str] | None = None
        self._line_piece_counts: list[int] | None = None
        self._sequences: dict[str, WordSequence] = {}
        self._tokens_per_piece: dict[str, np.ndarray] = {}
        self._line_sentences: dict[str, np.ndarray] = {}

    @property
    def lines(self) -> list[str]:
        """`str.splitlines()` of the text (every Unicode line boundary)."""
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    @property
    def newline_parts(self) -> list[str]:
        """`text.split("\\n")`: the lines as the rules that break at '\\n' only see them (FineWeb, Gopher)."""
        if self._newline_parts is None:
            self._newline_parts = self.text.split("\n")
        return self._newline_parts

    @property
    def line_piece_counts(self) -> list[int]:
        """`len(line.split())` of each line."""
        if self._line_piece_counts is None:
            self._line_piece_counts = [len(line.split()) for line in self.lines]
        return self._line_piece_counts

    def words(self, splitter: WordSplitter) -> WordSequence:
        """The document's words: line boundaries are whitespace, so the words of its lines in order."""
        sequence = self._sequences.get(splitter.name)
        if sequence is None:
            # Line boundaries are whitespace: the pieces of the lines, in order, are `text.split()`.
            tokens = splitter.split_pieces(self.text.split())
            sequence = WordSequence.of(list(chain.from_iterable(tokens)), splitter.table)
            self._sequences[splitter.name] = sequence
            self._tokens_per_piece[splitter.name] = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        return sequence

    def line_sentences(self, splitter: WordSplitter) -> np.ndarray:
        """Sentences of each line, as the sentence splitter counts them (see `sentences_per_line`; lines with
        whitespace runs that it counts as tokens need `sentence_flags` instead)."""
        found = self._line_sentences.get(splitter.name)
        if found is None:
            words = self.words(splitter)
            tokens_per_piece = self._tokens_per_piece[splitter.name]
            piece_ends = np.cumsum(self.line_piece_counts, dtype=np.int64)
            token_ends = np.concatenate([[0], np.cumsum(tokens_per_piece)])[piece_ends]
            tokens_per_line = np.diff(np.concatenate([[0], token_ends]))
            found = sentences_per_line(words.flags, tokens_per_line)
            self._line_sentences[splitter.name] = found
        return found


def prepare_words(analyses: Sequence[DocAnalysis], splitter: WordSplitter) -> None:
    """Compute `words(splitter)` of every document of `analyses` that has not got them yet, all together (see
    `thresher.text.batch_words`): the same words as one document at a time, for less CPU per document."""
    todo = [analysis for analysis in analyses if splitter.name not in analysis._sequences]
    if len(todo) < 2:
        return
    try:
        batch = split_batch([analysis.text for analysis in todo], splitter)
    except (UnicodeEncodeError, pa.ArrowException):
        # A text Arrow cannot hold (a lone surrogate from a rewrite): each document then splits on its own.
        return
    ids = batch.token_ids
    lengths, flags = batch.table.lengths[ids], batch.table.flags[ids]
    cumulative = exclusive_cumsum(lengths)
    token_offsets, piece_offsets = batch.token_offsets.tolist(), batch.piece_offsets.tolist()
    for i, analysis in enumerate(todo):
        low, high = token_offsets[i], token_offsets[i + 1]
        analysis._sequences[splitter.name] = WordSequence(
            ids[low:high],
            lengths[low:high],
            flags[low:high],
            cumulative[low : high + 1] - cumulative[low],
            batch.table,
        )
        analysis._tokens_per_piece[splitter.name] = batch.tokens_per_piece[piece_offsets[i] : piece_offsets[i + 1]]


def prepare_line_piece_counts(analyses: Sequence[DocAnalysis]) -> None:
    """Compute `line_piece_counts` of every document of `analyses` that has not got them yet, all together: every
    line of every document counted on its UTF-8 bytes (`word_counts_of`), not split into a list each."""
    todo = [analysis for analysis in analyses if analysis._line_piece_counts is None]
    if len(todo) < 2:
        return
    lines = list(map(attrgetter("lines"), todo))
    counts = word_counts_of(list(chain.from_iterable(lines)))
    start = 0
    for analysis, document_lines in zip(todo, lines, strict=True):
        end = start + len(document_lines)
        analysis._line_piece_counts = counts[start:end]
        start = end
