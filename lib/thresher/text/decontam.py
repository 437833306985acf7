"""Benchmark contamination: normalized word n-grams of benchmark items looked up in documents (Spark-free).

As in GPT-3's contamination analysis: text is lower-cased and split into words (runs of Unicode letters,
digits and `_`; punctuation and white space only separate words), and a document is contaminated by a
benchmark item when it contains one of the item's word n-grams (13 by default). An item shorter than n words
is looked up whole (its own word sequence), so short items do not escape. Reformatting (case, white space,
punctuation, line breaks) therefore does not hide an item.

n-grams are hashed to 64 bits (xxh3 of each word, combined by a polynomial rolling hash); the index holds one
sorted hash array per gram length, so a document costs one vectorised pass per length and a binary search.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import xxhash

WORD = re.compile(r"\w+")
# Odd 64-bit multiplier of the rolling hash (numpy's uint64 arithmetic wraps modulo 2**64).
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def words(text: str) -> list[str]:
    """The normalized words of `text`: lower-cased runs of word characters."""
    found = WORD.findall(text)
    # One lower() over the joined words (lower-casing never makes a space) is faster than one per word.
    return " ".join(found).lower().split(" ") if found else []


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character (start, end) of each word of `words(text)` in `text`."""
    return [m.span() for m in WORD.finditer(text)]


def word_hashes(tokens: Sequence[str]) -> np.ndarray:
    digest = xxhash.xxh3_64_intdigest
    return np.fromiter(
        (digest(w.encode("utf-8", "surrogatepass")) for w in tokens), dtype=np.uint64, count=len(tokens)
    )


def gram_hashes(hashes: np.ndarray, length: int) -> np.ndarray:
    """The rolling hash of every run of `length` consecutive words (empty when there are fewer)."""
    count = len(hashes) - length + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    acc = hashes[:count].copy()
    for offset in range(1, length):
        acc *= _MULTIPLIER
        acc += hashes[offset : offset + count]
    return acc


@dataclass(frozen=True)
class Item:
    benchmark: int  # index into BenchmarkIndex.names
    line: int  # 0-based line of the item in its file
    text: str


# Membership prefilter: a gram hash's top bits index a boolean table about 16x larger than the index (at most
# 2**24 entries, 16 MB, ~5% full for the 0.9M grams of GSM8K + HumanEval + MMLU), so that most of a document's
# grams are ruled out by one vectorised gather before the binary search.
_MAX_PREFILTER_BITS = 24


@dataclass
class _Grams:
    """The grams of one length: sorted hashes and, for each, the first (benchmark, line) that holds it."""

    hashes: np.ndarray
    benchmarks: np.ndarray
    lines: np.ndarray
    prefilter: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        bits = min(_MAX_PREFILTER_BITS, max(8, int(np.ceil(np.log2(16 * len(self.hashes) + 1)))))
        self._shift = np.uint64(64 - bits)
        self.prefilter = np.zeros(1 << bits, dtype=bool)
        self.prefilter[self.hashes >> self._shift] = True

    def lookup(self, doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in `doc` whose gram is indexed, the index entry of each)."""
        candidates = np.flatnonzero(self.prefilter[doc >> self._shift])
        if not len(candidates):
            return candidates, candidates
        where = np.searchsorted(self.hashes, doc[candidates])
        where[where == len(self.hashes)] = 0
        hit = self.hashes[where] == doc[candidates]
        return candidates[hit], where[hit]


@dataclass
class BenchmarkIndex:
    names: list[str]
    ngram: int
    grams: dict[int, _Grams]
    items: list[int]  # items indexed per benchmark
    empty_items: list[int]  # items without a single word, per benchmark (nothing to look for)
    short_items: list[int] = field(default_factory=list)  # items shorter than ngram words (looked up whole)

    @property
    def size(self) -> int:
        return sum(len(g.hashes) for g in self.grams.values())


def build_index(names: Sequence[str], items: Iterable[Item], ngram: int) -> BenchmarkIndex:
    """Index every item's n-grams (or, for an item shorter than `ngram` words, the item whole)."""
    parts: dict[int, list[tuple[np.ndarray, int, int]]] = {}
    counts = [0] * len(names)
    empty = [0] * len(names)
    short = [0] * len(names)
    for item in items:
        tokens = words(item.text)
        if not tokens:
            empty[item.benchmark] += 1
            continue
        counts[item.benchmark] += 1
        length = min(ngram, len(tokens))
        if length < ngram:
            short[item.benchmark] += 1
        parts.setdefault(length, []).append((gram_hashes(word_hashes(tokens), length), item.benchmark, item.line))
    grams = {}
    for length, entries in sorted(parts.items()):
        hashes = np.concatenate([h for h, _, _ in entries])
        benchmarks = np.concatenate([np.full(len(h), b, dtype=np.int32) for h, b, _ in entries])
        lines = np.concatenate([np.full(len(h), line, dtype=np.int64) for h, _, line in entries])
        # Stable sort keeps the earliest (benchmark, line) first among equal hashes: it owns the gram.
        order = np.lexsort((lines, benchmarks, hashes))
        hashes, benchmarks, lines = hashes[order], benchmarks[order], lines[order]
        first = np.ones(len(hashes), dtype=bool)
        first[1:] = hashes[1:] != hashes[:-1]
        grams[length] = _Grams(hashes[first], benchmarks[first], lines[first])
    return BenchmarkIndex(list(names), ngram, grams, counts, empty, short)


@dataclass(frozen=True)
class Match:
    """The first benchmark item found in a document (by position), and what else was found."""

    benchmark: str
    item: int
    start: int  # character offsets of the matched words in the document
    end: int
    matched: str  # the matched words, normalized
    ngrams: int  # matched grams in the document, all items together
    benchmarks: frozenset[str]  # every benchmark with at least one matched gram


def find(index: BenchmarkIndex, text: str) -> Match | None:
    """The contamination of `text`, or None when no indexed gram occurs in it."""
    tokens = words(text)
    if not tokens:
        return None
    hashes = word_hashes(tokens)
    best: tuple[int, int, int, int] | None = None  # (position, -length, benchmark, line)
    found_benchmarks: set[int] = set()
    total = 0
    for length, doc in _grams_of_lengths(hashes, sorted(index.grams)):
        grams = index.grams[length]
        positions, owners = grams.lookup(doc)
        if not len(positions):
            continue
        total += len(positions)
        found_benchmarks.update(int(b) for b in np.unique(grams.benchmarks[owners]))
        candidate = (int(positions[0]), -length, int(grams.benchmarks[owners[0]]), int(grams.lines[owners[0]]))
        if best is None or candidate < best:
            best = candidate
    if best is None:
        return None
    position, negative_length, benchmark, line = best
    length = -negative_length
    spans = word_spans(text)
    # The matched span: the first gram and the grams of the same item that continue it.
    end_word = _extend(index.grams[length], gram_hashes(hashes, length), position, length)
    return Match(
        benchmark=index.names[benchmark],
        item=line,
        start=spans[position][0],
        end=spans[end_word - 1][1],
        matched=" ".join(tokens[position:end_word]),
        ngrams=total,
        benchmarks=frozenset(index.names[b] for b in found_benchmarks),
    )


def _grams_of_lengths(hashes: np.ndarray, lengths: list[int]) -> Iterable[tuple[int, np.ndarray]]:
    """(length, gram hashes) for each of `lengths` (ascending), each length built from the one before."""
    acc = hashes
    built = 1
    for length in lengths:
        if length > len(hashes):
            return
        while built < length:
            acc = acc[:-1] * _MULTIPLIER + hashes[built:]
            built += 1
        yield length, acc


def _extend(grams: _Grams, doc: np.ndarray, position: int, length: int) -> int:
    """One past the last word of the run of consecutive matched grams that starts at `position`."""
    end = position + length
    next_start = position + 1
    while next_start < len(doc):
        if not len(grams.lookup(doc[next_start : next_start + 1])[0]):
            break
        end = next_start + length
        next_start += 1
    return end
