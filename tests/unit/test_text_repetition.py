"""Repetition measures: the numpy implementation against the definitions written out plainly."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from thresher.text.repetition import WordSequence, duplicate_elements, ngram_repetition
from thresher.text.words import TokenTable


def _sequence(words: list[str]) -> WordSequence:
    table = TokenTable()
    return WordSequence.of([table.intern(w) for w in words], table)


def _plain_top(words: list[str], n: int) -> int:
    grams = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0
    gram, count = Counter(grams).most_common(1)[0]
    return len(gram) * count


def _plain_duplicate(words: list[str], n: int) -> int:
    seen: set[tuple[str, ...]] = set()
    total = index = 0
    while index < len(words) - n + 1:
        gram = tuple(words[index : index + n])
        if gram in seen:
            total += sum(map(len, gram))
            index += n
        else:
            seen.add(gram)
            index += 1
    return total


def test_duplicate_elements() -> None:
    assert duplicate_elements(["a", "bb", "a", "bb", "bb", "c"]) == (3, 5)
    assert duplicate_elements([]) == (0, 0)


def test_known_values() -> None:
    words = ["the", "cat", "sat", "on", "the", "mat"] * 2
    top, dup = ngram_repetition(_sequence(words), (2, 3), (5, 6))
    assert top[2] == len("the cat") * 2  # 'the cat', 'cat sat', 'sat on', 'on the' all twice: first seen wins
    assert top[3] == len("the cat sat") * 2
    assert dup[5] == len("thecatsatonthe")  # the second 'the cat sat on the', then the scan jumps past it
    assert dup[6] == len("thecatsatonthemat")


def test_short_documents() -> None:
    top, dup = ngram_repetition(_sequence(["only", "three", "words"]), (2, 4), (5,))
    assert top == {2: len("only three"), 4: 0}
    assert dup == {5: 0}
    assert ngram_repetition(_sequence([]), (2,), (5,)) == ({2: 0}, {5: 0})


@pytest.mark.parametrize("seed", range(5))
def test_matches_the_plain_definitions_on_random_texts(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        vocabulary = [f"w{i}" * rng.randint(1, 3) for i in range(rng.randint(1, 6))]
        words = [rng.choice(vocabulary) for _ in range(rng.randint(0, 50))]
        if rng.random() < 0.4:
            words = words[:12] * rng.randint(2, 4) + words
        top, dup = ngram_repetition(_sequence(words), (2, 3, 4), (5, 6, 7, 8, 9, 10))
        assert top == {n: _plain_top(words, n) for n in (2, 3, 4)}
        assert dup == {n: _plain_duplicate(words, n) for n in range(5, 11)}
