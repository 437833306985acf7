"""Dedup building blocks without Spark: normalization, shingles, MinHash signatures, bands, URL keys."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from thresher.dedup.batches import MinHashBatches, MinHashSettings, TextHashBatches, UrlKeyBatches
from thresher.dedup.keep import KeepParams
from thresher.dedup.minhash import (
    EMPTY,
    MinHasher,
    band_keys,
    candidate_probability,
    estimated_jaccard,
    pick_bands_rows,
)
from thresher.dedup.normalize import FINEWEB_NORMALIZATION, TextNormalization, normalize_texts
from thresher.dedup.shingles import shingle_hashes
from thresher.dedup.urls import UrlNormalization, normalize_url
from thresher.stages.minhash_dedup import MinHashDedupParams

RANK = pa.array([{"missing": False, "rank": 0.0}] * 3)


def _normalize(texts: list[str | None], options: TextNormalization = FINEWEB_NORMALIZATION) -> list[str | None]:
    return normalize_texts(pa.array(texts, pa.string()), options).to_pylist()


def test_fineweb_normalization_ignores_case_accents_punctuation_digits_and_spacing():
    texts = ["Café  Müller, (est. 1987)!\tÀ\u00a0bientôt", "cafe muller est 2001 a bientot", None, "", "?!…"]
    assert _normalize(texts) == ["cafe muller est 0 a bientot", "cafe muller est 0 a bientot", None, "", ""]


def test_default_exact_normalization_only_collapses_whitespace():
    assert _normalize([" Hello,\n\n  World\u3000 2024 "], TextNormalization()) == ["Hello, World 2024"]
    lowercase = TextNormalization(lowercase=True, collapse_whitespace=False)
    assert _normalize(["A  B"], lowercase) == ["a  b"]


def test_accents_are_stripped_in_non_ascii_texts_next_to_ascii_ones():
    options = TextNormalization(strip_accents=True)
    assert _normalize(["plain", "Ångström naïve", "also plain"], options) == ["plain", "Angstrom naive", "also plain"]


def _shingles(texts: list[str | None], unit: str = "word", n: int = 5):
    return shingle_hashes(normalize_texts(pa.array(texts, pa.string()), FINEWEB_NORMALIZATION), unit, n)


def test_word_shingles_are_windows_of_n_words_with_equal_hashes_across_documents():
    shingles = _shingles(["one two three four five six", "Two three FOUR five six seven!"])
    assert list(shingles.counts) == [2, 2]
    assert list(shingles.units) == [6, 6]
    # "two three four five six" is the second shingle of the first text and the first of the second.
    assert shingles.of(0)[1] == shingles.of(1)[0]
    assert shingles.of(0)[0] != shingles.of(1)[1]


def test_shingle_hashes_do_not_depend_on_the_other_documents_of_the_batch():
    text = "the quick brown fox jumps over the lazy dog again and again"
    alone = _shingles([text]).of(0)
    among = _shingles(["something else entirely here", text, "", "x y"]).of(1)
    assert np.array_equal(alone, among)


def test_texts_shorter_than_n_have_one_shingle_equal_only_for_equal_texts():
    shingles = _shingles(["red apple", "Red, apple!", "green apple", "apple", "", None, "!!!"])
    assert list(shingles.counts) == [1, 1, 1, 1, 0, 0, 0]
    first, same, other, single = (shingles.of(i)[0] for i in range(4))
    assert first == same
    assert len({first, other, single}) == 3


def test_order_of_words_matters_within_a_shingle():
    shingles = _shingles(["a b c d e", "e d c b a", "b a c d e"])
    assert len({int(shingles.of(i)[0]) for i in range(3)}) == 3


def test_character_shingles():
    shingles = _shingles(["abcd", "ab", "xbcd"], unit="char", n=3)
    assert list(shingles.counts) == [2, 1, 2]
    assert shingles.of(0)[1] == shingles.of(2)[1]  # "bcd"
    assert shingles.of(0)[0] != shingles.of(2)[0]


def _jaccard_sets(similarity: float, size: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    common = round(2 * size * similarity / (1 + similarity))
    universe = np.arange(offset, offset + 2 * size - common, dtype=np.uint64)
    return universe[:size], universe[size - common :]


@pytest.mark.parametrize("similarity", [0.3, 0.6, 0.8, 0.95])
def test_signatures_estimate_jaccard_without_bias(similarity):
    from thresher.dedup.hashing import fmix64

    hasher = MinHasher(128, seed=3)
    estimates = []
    for trial in range(60):
        first, second = _jaccard_sets(similarity, 300, trial * 10_000)
        hashes = fmix64(np.concatenate([first, second]))
        offsets = np.array([0, len(first), len(first) + len(second)])
        signatures = hasher.signatures(hashes, offsets)
        estimates.append(estimated_jaccard(signatures[0], signatures[1]))
    assert abs(np.mean(estimates) - similarity) < 0.02
    assert np.std(estimates) < 2 * np.sqrt(similarity * (1 - similarity) / 128) + 0.01


def test_signature_of_a_set_ignores_order_and_repetition_and_empty_documents_get_empty_rows():
    hasher = MinHasher(16)
    values = np.array([5, 9, 1, 7], dtype=np.uint64)
    shuffled = np.array([7, 1, 1, 9, 5, 5], dtype=np.uint64)
    signatures = hasher.signatures(np.concatenate([values, shuffled]), np.array([0, 4, 4, 10]))
    assert np.array_equal(signatures[0], signatures[2])
    assert (signatures[1] == EMPTY).all()


def test_signatures_of_large_documents_span_several_blocks():
    hasher = MinHasher(8)
    hashes = np.arange(1, 5001, dtype=np.uint64)
    whole = hasher.signatures(hashes, np.array([0, 5000]))[0]
    expected = (hashes[:, None] * hasher.a + hasher.b).min(axis=0)
    assert np.array_equal(whole, expected)


def test_band_keys_agree_exactly_on_equal_bands():
    signatures = np.tile(np.arange(12, dtype=np.uint64), (2, 1))
    signatures[1, 4:] += 100  # only band 0 (columns 0-3) agrees
    keys = band_keys(signatures, bands=3, rows=4)
    assert keys.shape == (2, 3) and keys.dtype == np.int64
    assert keys[0, 0] == keys[1, 0]
    assert keys[0, 1] != keys[1, 1] and keys[0, 2] != keys[1, 2]
    # The band index is part of the key: equal values in two different bands never share a bucket.
    same_values = np.zeros((1, 8), dtype=np.uint64)
    k = band_keys(same_values, bands=2, rows=4)
    assert k[0, 0] != k[0, 1]
    with pytest.raises(ValueError, match="need 16 permutations"):
        band_keys(signatures, bands=4, rows=4)


def test_bands_and_rows_picked_for_a_threshold_put_the_s_curve_at_the_threshold():
    for threshold in (0.5, 0.7, 0.8, 0.9):
        bands, rows = pick_bands_rows(threshold, 112)
        assert bands * rows <= 112
        assert candidate_probability(threshold - 0.15, bands, rows) < 0.3
        assert candidate_probability(min(threshold + 0.1, 0.99), bands, rows) > 0.7
    assert pick_bands_rows(0.8, 112) != pick_bands_rows(0.5, 112)
    with pytest.raises(ValueError):
        pick_bands_rows(1.0, 112)


def test_minhash_params_validation_and_banding():
    assert MinHashDedupParams().banding() == (14, 8)
    # Without verification the S-curve is centred on the threshold; with it, recall is favoured.
    assert MinHashDedupParams(bands=None, rows=None, verify="none").banding() == pick_bands_rows(0.8, 112) == (9, 12)
    assert MinHashDedupParams(bands=None, rows=None, verify="exact").banding() == (14, 8)
    with pytest.raises(ValidationError, match="set both bands and rows"):
        MinHashDedupParams(bands=10, rows=None)
    with pytest.raises(ValidationError, match="exceeds num_perm"):
        MinHashDedupParams(bands=20, rows=8)


def test_keep_policy_params():
    assert KeepParams(keep="max_column", keep_column="quality.score").keep_column == "quality.score"
    with pytest.raises(ValidationError, match="needs keep_column"):
        KeepParams(keep="max_column")
    with pytest.raises(ValidationError, match="only used with keep: max_column"):
        KeepParams(keep="longest_text", keep_column="x")


def _settings(**changes) -> MinHashSettings:
    base = {
        "normalization": FINEWEB_NORMALIZATION,
        "unit": "word",
        "ngram": 3,
        "num_perm": 16,
        "bands": 4,
        "rows": 4,
        "seed": 1,
    }
    return MinHashSettings(**{**base, **changes})


def test_minhash_batches_output_one_row_per_document():
    batch = pa.RecordBatch.from_pydict(
        {
            "doc_id": ["a", "b", "c"],
            "text": ["one two three four", "...", "One, two three FOUR"],
            "rank": RANK,
        }
    )
    out = MinHashBatches(_settings(with_signature=True, with_shingle_set=True)).run_batch(batch).to_pydict()
    assert out["doc_id"] == ["a", "b", "c"]
    assert out["units"] == [4, 0, 4] and out["shingles"] == [2, 0, 2]
    assert [len(b) for b in out["buckets"]] == [4, 0, 4]
    assert out["buckets"][0] == out["buckets"][2]
    assert len(out["signature"][0]) == 16 and out["signature"][1] == []
    assert len(out["shingle_set"][0]) == 2 and out["shingle_set"][1] == []


def test_minhash_batches_survive_pickling_without_their_coefficients():
    import pickle

    batches = MinHashBatches(_settings())
    _ = batches.hasher
    restored = pickle.loads(pickle.dumps(batches))
    batch = pa.RecordBatch.from_pydict({"doc_id": ["a"], "text": ["a b c d"], "rank": RANK[:1]})
    assert restored.run_batch(batch).to_pydict() == batches.run_batch(batch).to_pydict()


def test_text_hash_batches_key_equal_normalized_texts_and_skip_empty_ones():
    batch = pa.RecordBatch.from_pydict(
        {"doc_id": ["a", "b", "c"], "text": ["Hello   world", "Hello world", "  \n "], "rank": RANK}
    )
    keys = TextHashBatches(TextNormalization()).run_batch(batch).column("cluster").to_pylist()
    assert keys[0] == keys[1] and len(keys[0]) == 32
    assert keys[2] is None


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("http://www.example.com/a/b/", "https://example.com/a/b"),
        ("HTTP://Example.COM:80/a/./b/../c?b=2&a=1&utm_source=feed#top", "example.com/a/c?a=1&b=2"),
        ("https://example.com/~user/caf%C3%A9", "https://example.com/%7Euser/café"),
        ("https://user:secret@example.com./x", "http://example.com/x"),
    ],
)
def test_urls_that_address_the_same_page_normalize_equal(first, second):
    options = UrlNormalization()
    assert normalize_url(first, options) == normalize_url(second, options) is not None


def test_url_normalization_options_and_unusable_urls():
    strict = UrlNormalization(ignore_scheme=False, ignore_www=False, ignore_trailing_slash=False)
    assert normalize_url("http://www.x.org/a/", strict) == "http://www.x.org/a/"
    assert normalize_url("https://x.org/a?id=1", UrlNormalization(ignore_query=True)) == "//x.org/a"
    assert normalize_url("https://x.org/a?id=1", UrlNormalization()) == "//x.org/a?id=1"
    assert normalize_url("https://x.org/A", UrlNormalization(lowercase_path=True)) == "//x.org/a"
    for unusable in (None, "", "   ", "mailto:someone@x.org", "javascript:void(0)", "http://[::1"):
        assert normalize_url(unusable, UrlNormalization()) is None
    batch = pa.RecordBatch.from_pydict(
        {"doc_id": ["a", "b", "c"], "url": ["http://x.org/", None, "https://x.org"], "rank": RANK}
    )
    assert UrlKeyBatches(UrlNormalization()).run_batch(batch).column("cluster").to_pylist() == [
        "//x.org/",
        None,
        "//x.org/",
    ]
