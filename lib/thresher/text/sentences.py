"""Sentence counting over word tokens, as spaCy's rule-based sentencizer splits: a sentence ends at a terminal
punctuation token ('.', '!', '?', ...) and the next one starts at the first token after it that is not
punctuation. Runs of whitespace other than one space are tokens there too (they start a sentence).

Tokens are given by their `token_flags`; a whitespace-run token has flags 0."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from thresher.text.chars import PUNCTUATION, SENTENCE_TERMINALS, TERMINAL
from thresher.text.words import WordSplitter

_SPACE_TOKEN = re.compile(r"\s{2,}|[^\S ]")
# Such a whitespace token only changes the count when it comes after a terminal with nothing but punctuation
# and single spaces in between (it then starts a sentence itself): a terminal, no word character, then one.
_SPACE_TOKEN_AFTER_TERMINAL = re.compile(
    "[" + re.escape("".join(sorted(SENTENCE_TERMINALS))) + r"]\W*?(?:\s{2,}|[^\S ])"
)
_SPACES = re.compile(r"(\s+)")
# Whitespace inside a line other than single spaces: anything but a space or a `str.splitlines` boundary, or two
# spaces. A line (of `splitlines`) of a text without it has no whitespace token.
_INNER_SPACE = re.compile(r"[^\S \n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]|  ")


def count_sentences(flags: Iterable[int]) -> int:
    """Number of sentences in a run of tokens given by their flags (0 for no tokens)."""
    sentences = 0
    after_terminal = False
    for flag in flags:
        if not sentences:
            sentences = 1
        if flag & TERMINAL:
            after_terminal = True
        elif after_terminal and not flag & PUNCTUATION:
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
    """Whether `text` may have whitespace runs that change the sentence splitter's count (see above): only
    then does counting need `sentence_tokens` rather than the words alone."""
    text = text.strip()
    # Every whitespace character but the space is non-printable (Unicode's Separator and Other categories): without
    # one and without two spaces in a row, `_SPACE_TOKEN` cannot match (a C scan instead of the regex).
    if "  " not in text and text.isprintable():
        return False
    return _SPACE_TOKEN.search(text) is not None and _SPACE_TOKEN_AFTER_TERMINAL.search(text) is not None


def may_have_space_tokens(text: str) -> bool:
    """False when no line of `text` (`str.splitlines`) can have whitespace tokens (`has_space_tokens` is False
    for each): one scan of the document instead of two per line."""
    if text.isascii():
        # The ASCII whitespace `_INNER_SPACE` matches is the tab and U+001F, or two spaces: substring scans.
        return "  " in text or "\t" in text or "\x1f" in text
    return _INNER_SPACE.search(text) is not None


def sentence_flags(splitter: WordSplitter, text: str) -> list[int]:
    """The flags of the tokens of `text`, with a 0 for each whitespace run that is not a single space."""
    items = [part for part in _SPACES.split(text.strip()) if part and part != " "]
    pieces = [part for part in items if not part.isspace()]
    ids_per_piece = iter(splitter.split_pieces(pieces))
    table_flags = splitter.table.flags
    flags: list[int] = []
    for part in items:
        if part.isspace():
            flags.append(0)
        else:
            flags.extend(int(table_flags[i]) for i in next(ids_per_piece))
    return flags
