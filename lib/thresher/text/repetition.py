"""Repetition measures of the Gopher rules, over word ids with numpy.

N-grams are polynomial hashes (modulo 2^64) of their words' token ids, so n-gram counting is a sort of
integers instead of Python tuples in dicts. Two different n-grams could share a hash (probability about
m^2 / 2^64 for m n-grams): negligible next to the thresholds' granularity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from thresher.text.words import TokenTable

# Odd 64-bit multiplier of the polynomial n-gram hash (arithmetic wraps modulo 2^64).
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def duplicate_elements(items: Sequence[str]) -> tuple[int, int]:
    """(number of items equal to an earlier item, their total characters)."""
    # Every occurrence of a value but its first is a duplicate: all items less the distinct ones (C loops only).
    distinct = set(items)
    return len(items) - len(distinct), sum(map(len, items)) - sum(map(len, distinct))


@dataclass(frozen=True)
class WordSequence:
    """A document's words as token ids (into `table`) with their lengths and `token_flags`."""

    ids: np.ndarray  # int64 token ids
    lengths: np.ndarray  # int64
    flags: np.ndarray  # uint8
    cumulative: np.ndarray  # int64, cumulative[i] = characters of the first i words
    table: TokenTable

    @classmethod
    def of(cls, ids: list[int] | np.ndarray, table: TokenTable) -> WordSequence:
        array = np.asarray(ids, dtype=np.int64)
        lengths = table.lengths[array]
        cumulative = np.zeros(len(array) + 1, dtype=np.int64)
        np.cumsum(lengths, out=cumulative[1:])
        return cls(array, lengths, table.flags[array], cumulative, table)

    @cached_property
    def id_list(self) -> list[int]:
        """`ids` as Python ints: set operations on them beat numpy's on one document's words."""
        return self.ids.tolist()

    def __len__(self) -> int:
        return len(self.ids)

    def ngram_chars(self, n: int) -> np.ndarray:
        """Characters of the words of the n-gram starting at each position (separators not counted)."""
        return self.cumulative[n:] - self.cumulative[:-n]

    def count_present(self, words: Sequence[str]) -> int:
        """How many of `words` occur in the document (as whole tokens)."""
        wanted = {i for i in map(self.table.ids.get, words) if i is not None}
        return len(wanted.intersection(self.id_list)) if wanted else 0


def _most_frequent(keys: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(whether each key occurs more than once, the largest count, index of the first key with that count)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts_group = np.empty(len(keys), dtype=bool)
    starts_group[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts_group[1:])
    starts = np.flatnonzero(starts_group)
    counts = np.empty(len(starts), dtype=np.int64)
    np.subtract(starts[1:], starts[:-1], out=counts[:-1])
    counts[-1] = len(keys) - starts[-1]
    best = int(counts.max())
    if best == 1:
        return np.zeros(len(keys), dtype=bool), 1, 0
    repeated = np.empty(len(keys), dtype=bool)
    repeated[order] = np.repeat(counts > 1, counts)
    # The sort is stable: each group's first key in sorted order is its first in the document.
    return repeated, best, int(order[starts[counts == best]].min())


def _repeats(keys: np.ndarray) -> np.ndarray:
    """Whether each key occurs more than once (`_most_frequent` without the counting)."""
    order = np.argsort(keys)
    ordered = keys[order]
    same = ordered[1:] == ordered[:-1]
    repeated_sorted = np.zeros(len(keys), dtype=bool)
    repeated_sorted[1:] = same
    repeated_sorted[:-1] |= same
    repeated = np.empty(len(keys), dtype=bool)
    repeated[order] = repeated_sorted
    return repeated


def _greedy_duplicate_chars(positions: list[int], groups: list[int], chars: list[int], n: int) -> int:
    """Scan the repeated n-grams' positions left to right; an n-gram seen before counts and makes the scan
    jump past it (n-grams jumped over are not remembered)."""
    seen: set[int] = set()
    total = 0
    resume_at = 0
    for position, group, length in zip(positions, groups, chars, strict=True):
        if position < resume_at:
            continue
        if group in seen:
            total += length
            resume_at = position + n
        else:
            seen.add(group)
    return total


def ngram_repetition(
    words: WordSequence, top_ns: Sequence[int], dup_ns: Sequence[int]
) -> tuple[dict[int, int], dict[int, int]]:
    """Characters covered by the most frequent n-gram (`top_ns`) and by repeated n-grams (`dup_ns`).

    Top n-gram: its length written with single spaces times its count, ties going to the n-gram seen first;
    0 when the document has fewer than n words. Repeated n-grams: characters (separators not counted) of the
    n-grams that repeat an earlier one, scanning left to right and jumping past each repeat.

    Only one full sort is needed: an n-gram at position p can repeat only if the (n-1)-grams at p and p+1
    both repeat, so longer n-grams are grouped among those candidate positions only.
    """
    top: dict[int, int] = {}
    dup: dict[int, int] = {}
    wanted = set(top_ns) | set(dup_ns)
    if not wanted:
        return top, dup
    total = len(words)
    ids = words.ids.view(np.uint64)
    hashes = ids
    repeated: np.ndarray | None = None
    for n in range(1, max(wanted) + 1):
        if n > 1:
            hashes = hashes[:-1] * _MULTIPLIER + ids[n - 1 :]
        if total < n:
            top |= {m: 0 for m in top_ns if m >= n}
            dup |= {m: 0 for m in dup_ns if m >= n}
            break
        if n < min(wanted):
            continue
        chars = words.ngram_chars(n)
        candidates = np.arange(total - n + 1) if repeated is None else np.flatnonzero(repeated[:-1] & repeated[1:])
        if candidates.size == 0:
            # Nothing repeats from here on: the top n-gram is the first one, counted once.
            top |= {m: int(words.ngram_chars(m)[0]) + m - 1 for m in top_ns if m >= n and total >= m}
            top |= {m: 0 for m in top_ns if m >= n and total < m}
            dup |= {m: 0 for m in dup_ns if m >= n}
            break
        keys = hashes if repeated is None else hashes[candidates]
        if n in top_ns:
            is_repeat, best, first = _most_frequent(keys)
            position = int(candidates[first]) if best > 1 else 0
            top[n] = (int(chars[position]) + n - 1) * best
        else:
            is_repeat = _repeats(keys)
        positions = candidates[is_repeat]
        repeated = np.zeros(total - n + 1, dtype=bool)
        repeated[positions] = True
        if n in dup_ns:
            # Equal hashes are equal n-grams (see the module docstring): the hash names the n-gram's group.
            groups = keys[is_repeat].tolist()
            dup[n] = _greedy_duplicate_chars(positions.tolist(), groups, chars[positions].tolist(), n)
    return top, dup
