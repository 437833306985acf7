"""MinHash outputs stay bit-identical across speed work: signatures, band keys, units and shingle counts of every
document equal those of a straightforward reference kept here (Python integers, one document and one
permutation at a time, NFD on every non-ASCII text), on generated text with Unicode of many kinds, empty,
null and very short documents and texts shorter than the n-gram. A digest of the outputs computed before the
vectorized paths existed pins them too, so existing runs, resume and the dedup index stay valid."""

from __future__ import annotations

import hashlib
import itertools
import random

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import xxhash

from thresher.dedup.batches import MinHashBatches, MinHashSettings
from thresher.dedup.hashing import seeded_constants
from thresher.dedup.minhash import EMPTY, MinHasher
from thresher.dedup.normalize import (
    _COMBINING_MARKS,
    FINEWEB_NORMALIZATION,
    TextNormalization,
    _strip_accents,
    normalize_texts,
)

MASK = (1 << 64) - 1
SPACES = [" ", " ", " ", "  ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\x85", "\u00a0", "\u2000", "\u2028", "\u3000"]
PIECES = [
    "the",
    "Data",
    "curation",
    "naïve",
    "Ångström",
    "café",
    "cafe\u0301",
    "über",
    "ÉCOLE",
    "Straße",
    "ﬁnd",
    "1987",
    "٣٤",
    "x2",
    "½",
    "—",
    "...",
    "!?",
    "(ok)",
    "e-mail",
    "a/b",
    "€5",
    "😀",
    "👍🏽",
    "日本語",
    "中文",
    "한국어",
    "각",
    "ελληνικά",
    "Ὀδυσσεύς",
    "русский",
    "ёлка",
    "עברית",
    "عربي",
    "हिन्दी",
    "ภาษาไทย",
    "ཀཱ",
    "\u0301",
    "\u0f71\u0334",
    "𝅘𝅥𝅮",
    "\U0001d165\U0001d16d",
    "\u1e9e",
    "İstanbul",
    "ǅ",
    "\x1c",
    "\u200b",
    "\ufeff",
    "\u2126",
    "\u212b",
    "\uf900",
    "\U0002f800",
    "\U000e0041",
    "\U00050000",
    "\U000f0001",
    "Ⅻ",
    "ⓐ",
    "'",
    '"',
]


def generated_texts(count: int, seed: int) -> list[str | None]:
    """Texts of 0 to 60 pieces joined by assorted separators, plus the edge cases."""
    rng = random.Random(seed)
    texts: list[str | None] = [None, "", " ", "\n\t ", "...", "!? —", "one", "one two", "a b c d", "é", "\u0301"]
    texts += ["a b c d e", "  lead and trail  ", "\x1c edge \x1c", "x \u0301 y", "1\u03012"]
    for _ in range(count):
        pieces = [rng.choice(PIECES) for _ in range(rng.choice([0, 1, 2, 3, 4, 5, 8, 20, 60]))]
        text = ""
        for piece in pieces:
            text += piece + rng.choice(SPACES if rng.random() < 0.8 else ["", ",", ". ", "-"])
        texts.append(text)
    return texts


# ---- the reference --------------------------------------------------------------------------------------------


def reference_strip_accents(texts: pa.Array) -> pa.Array:
    """NFD and dropping marks on every non-ASCII text (the formulation before the affected-character check)."""
    ascii_mask = pc.fill_null(pc.string_is_ascii(texts), True).to_numpy(zero_copy_only=False)
    needs = np.flatnonzero(~ascii_mask)
    if len(needs) == 0:
        return texts
    subset = pc.take(texts, pa.array(needs))
    stripped = pc.replace_substring_regex(
        pc.utf8_normalize(subset, form="NFD"), pattern=_COMBINING_MARKS, replacement=""
    )
    mask = np.zeros(len(texts), dtype=bool)
    mask[needs] = True
    return pc.replace_with_mask(texts, pa.array(mask), stripped)


def fmix(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK
    return h ^ (h >> 33)


def chain(state: int, value: int) -> int:
    return fmix((state * 0x9E3779B97F4A7C15 + value) & MASK)


def reference_units(normalized: str | None, unit: str) -> list[int]:
    if not normalized:
        return []
    if unit == "word":
        return [xxhash.xxh3_64_intdigest(word.encode()) for word in normalized.split(" ")]
    return [xxhash.xxh3_64_intdigest(c.encode("utf-8", "surrogatepass")) for c in normalized]


def reference_shingles(units: list[int], n: int) -> list[int]:
    if not units:
        return []
    windows = [units[i : i + n] for i in range(len(units) - n + 1)] if len(units) >= n else [units]
    out = []
    for window in windows:
        state = window[0]
        for value in window[1:]:
            state = chain(state, value)
        out.append(state)
    return out


def reference_rows(texts: list[str | None], settings: MinHashSettings) -> list[dict]:
    normalization = settings.normalization
    if settings.unit == "word":
        normalization = normalization.model_copy(update={"collapse_whitespace": True})
    array = pa.array(texts, pa.string())
    if normalization.strip_accents:
        # The same steps with the reference accent stripping in its place (it comes right after lowercasing).
        lowered = pc.utf8_lower(array) if normalization.lowercase else array
        rest = normalization.model_copy(update={"lowercase": False, "strip_accents": False})
        normalized = normalize_texts(reference_strip_accents(lowered), rest)
    else:
        normalized = normalize_texts(array, normalization)
    a = [int(x) | 1 for x in seeded_constants(settings.num_perm, settings.seed, "a")]
    b = [int(x) for x in seeded_constants(settings.num_perm, settings.seed, "b")]
    band_seeds = [fmix(int(x)) for x in seeded_constants(settings.bands, settings.seed, "band")]
    rows = []
    for text in normalized.to_pylist():
        units = reference_units(text, settings.unit)
        shingles = reference_shingles(units, settings.ngram)
        row: dict = {"units": len(units), "shingles": len(shingles), "buckets": [], "signature": []}
        if shingles:
            signature = [min((ai * x + bi) & MASK for x in shingles) for ai, bi in zip(a, b, strict=True)]
            for band in range(settings.bands):
                state = band_seeds[band]
                for value in signature[band * settings.rows : (band + 1) * settings.rows]:
                    state = chain(state, value)
                row["buckets"].append(state - (1 << 64) if state >= 1 << 63 else state)
            row["signature"] = [v - (1 << 64) if v >= 1 << 63 else v for v in signature]
        row["shingle_set"] = [v - (1 << 64) if v >= 1 << 63 else v for v in sorted(set(shingles))]
        rows.append(row)
    return rows


# ---- the tests ------------------------------------------------------------------------------------------------


def _run(texts: list[str | None], settings: MinHashSettings, batch_size: int = 37) -> list[dict]:
    signer = MinHashBatches(settings)
    rows: list[dict] = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        batch = pa.RecordBatch.from_pydict(
            {
                "doc_id": [f"d{start + i}" for i in range(len(chunk))],
                "text": pa.array(chunk, pa.string()),
                "rank": pa.array(range(len(chunk)), pa.int64()),
            }
        )
        out = signer.run_batch(batch).to_pydict()
        keys = ["units", "shingles", "buckets", "signature", "shingle_set"]
        rows += [dict(zip(keys, values, strict=True)) for values in zip(*(out[k] for k in keys), strict=True)]
    return rows


def _settings(**changes) -> MinHashSettings:
    base = {"normalization": FINEWEB_NORMALIZATION, "unit": "word", "ngram": 5, "num_perm": 112, "bands": 14}
    base |= {"rows": 8, "seed": 1, "with_signature": True, "with_shingle_set": True}
    return MinHashSettings(**(base | changes))


@pytest.mark.parametrize(
    "settings",
    [
        _settings(),
        _settings(ngram=2, num_perm=24, bands=6, rows=4, seed=7),
        _settings(unit="char", ngram=4, num_perm=16, bands=4, rows=4),
        _settings(normalization=TextNormalization(strip_accents=True, collapse_whitespace=False), ngram=3),
    ],
    ids=["defaults", "bigrams", "char", "accents-only"],
)
def test_batch_outputs_equal_the_reference(settings):
    texts = generated_texts(300, seed=16)
    assert _run(texts, settings) == reference_rows(texts, settings)


def test_batch_size_does_not_change_outputs():
    texts = generated_texts(120, seed=3)
    assert _run(texts, _settings(), batch_size=1) == _run(texts, _settings(), batch_size=1000)


def test_accent_stripping_equals_nfd_on_every_non_ascii_text():
    """Every code point of the BMP and the supplementary planes in use, alone in short texts (so that a text is
    changed only by its own characters) and with neighbours (marks before and after, so that reordering by
    combining class shows), against NFD on every non-ASCII text."""
    rng = random.Random(5)
    points = [c for c in range(0x80, 0x30000) if not 0xD800 <= c < 0xE000] + list(range(0xE0000, 0xE0080))
    points += [0x50000, 0xF0001, 0x10FFFD]
    rng.shuffle(points)
    texts = ["ab" + "".join(map(chr, points[i : i + 3])) for i in range(0, len(points), 3)]
    marks = ["", "", "a", "\u0334", "\u0f71", "\u0301", "\U0001d165", " "]
    texts += ["".join(rng.choice(marks) + chr(c) for c in points[i : i + 40]) for i in range(0, len(points), 40)]
    # Marks in both orders, among them spacing marks (Mc, not dropped) of non-zero combining class: NFD swaps them.
    combining = ["\u0301", "\u0334", "\u0f71", "\U0001d165", "\U0001d166", "\U0001d16d", "\U0001d16e", "\U00016ff0"]
    texts += [f"a{first}{second} b" for first in combining for second in combining]
    texts += ["plain ascii", None, ""]
    array = pa.array(texts, pa.string())
    assert _strip_accents(array).equals(reference_strip_accents(array))


# sha256 of the outputs (units, shingles, buckets, signature, shingle_set) of generated_texts(300, seed=16)
# under the stage's default settings, computed with the code before the vectorized paths (commit 262c9ca).
PINNED_DIGEST = "1f84bcf11ff8e894cc434dcf8ca067cc0446f56e7591c4e9114ede15294583a8"


def test_outputs_match_the_digest_pinned_before_the_speed_work():
    rows = _run(generated_texts(300, seed=16), _settings(), batch_size=64)
    assert hashlib.sha256(repr(rows).encode()).hexdigest() == PINNED_DIGEST


def test_signatures_of_long_empty_and_one_shingle_documents_equal_the_reference():
    """Documents longer than a chunk (cut into segments), a chunk boundary inside a run of short documents,
    empty documents first, between and last; against the minimum of every (shingle x permutation) value."""
    rng = np.random.default_rng(9)
    counts = [0, 1, 3, 0, 40_000, 16_384, 16_385, 0, 1, *rng.integers(0, 300, size=200).tolist(), 70_000, 0]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    hashes = rng.integers(0, 2**64, size=int(offsets[-1]), dtype=np.uint64)
    hasher = MinHasher(24, seed=3)
    expected = np.full((len(counts), 24), EMPTY, dtype=np.uint64)
    for doc, (start, end) in enumerate(itertools.pairwise(offsets.tolist())):
        if end > start:
            expected[doc] = (hashes[start:end, None] * hasher.a + hasher.b).min(axis=0)
    assert np.array_equal(hasher.signatures(hashes, offsets), expected)
