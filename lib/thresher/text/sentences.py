"""Sentence counting over word tokens, as spaCy's rule-based sentencizer splits: a sentence ends at a terminal
punctuation token ('.', '!', '?', ...) and the next one starts at the first token after it that is not
punctuation. Runs of whitespace other than one space are tokens there too (they start a sentence)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from thresher.text.chars import PUNCTUATION, SENTENCE_TERMINALS, TERMINAL, is_punctuation
from thresher.text.words import WordSplitter

_SPACE_TOKEN = re.compile(r"\s{2,}|[^\S ]")
_SPACES = re.compile(r"(\s+)")


def count_sentences(tokens: Sequence[str]) -> int:
    """Number of sentences in `tokens` (0 for no tokens)."""
    if not tokens:
        return 0
    sentences = 1
    after_terminal = False
    for token in tokens:
        if token in SENTENCE_TERMINALS:
            after_terminal = True
        elif after_terminal and not is_punctuation(token):
            sentences += 1
            after_terminal = False
    return sentences


def sentences_per_line(flags: np.ndarray, line_counts: np.ndarray) -> np.ndarray:
    """`count_sentences` of each line at once, from the `token_flags` of the document's tokens and the number
    of tokens of each line: a token that is neither punctuation nor a terminal starts a sentence when a terminal
    came after the previous such token of its line (or after the line's start)."""
    lines = len(line_counts)
    sentences = (line_counts > 0).astype(np.int64)
    if not len(flags):
        return sentences
    terminal = (flags & TERMINAL) != 0
    starts = np.flatnonzero(~terminal & ((flags & PUNCTUATION) == 0))
    if not len(starts):
        return sentences
    line_of = np.repeat(np.arange(lines), line_counts)[starts]
    line_begin = np.concatenate([[0], np.cumsum(line_counts)[:-1]])[line_of]
    previous = np.concatenate([[-1], starts[:-1]])
    after = np.maximum(previous + 1, line_begin)
    terminals_before = np.concatenate([[0], np.cumsum(terminal)])
    new_sentence = terminals_before[starts] - terminals_before[after] > 0
    sentences += np.bincount(line_of[new_sentence], minlength=lines)
    return sentences


def has_space_tokens(text: str) -> bool:
    """Whether `text` has whitespace runs that the sentence splitter counts as tokens."""
    return _SPACE_TOKEN.search(text.strip()) is not None


def sentence_tokens(splitter: WordSplitter, text: str) -> list[str]:
    """The tokens of `text` with one " " token for each whitespace run that is not a single space."""
    text = text.strip()
    if not _SPACE_TOKEN.search(text):
        return splitter.split(text)
    tokens: list[str] = []
    for part in _SPACES.split(text):
        if not part:
            continue
        if part.isspace():
            if part != " ":
                tokens.append(" ")
        else:
            tokens.extend(splitter.split(part))
    return tokens
