"""Whitespace word counts of a whole Arrow string array at once, on its UTF-8 bytes (numpy, no Python string per
document): the same count as `len(text.split())`, the unit of the `words_*` statistics."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from thresher.text.arrow_bytes import value_bytes

# What str.split() splits on (Py_UNICODE_ISSPACE): ASCII \t \n \v \f \r, the separators U+001C..U+001F and space,
# and these characters beyond ASCII, by their UTF-8 bytes.
_WIDE_SPACES = "\x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
# Each as the integer of its UTF-8 bytes (2 or 3 of them), the form `_mark_wide_spaces` compares.
_WIDE_SPACE_KEYS = np.array([int.from_bytes(c.encode(), "big") for c in _WIDE_SPACES], dtype=np.int64)

# Bytes counted at once (see whitespace_word_counts).
_CHUNK = 1 << 20


def whitespace_word_counts(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(words per text as int64, whether the text is not null); a null text counts 0 words."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        raise TypeError(f"whitespace_word_counts needs a string array, not {texts.type}")
    n = len(texts)
    valid = np.ones(n, dtype=bool) if texts.null_count == 0 else texts.is_valid().to_numpy(zero_copy_only=False)
    data, offsets = value_bytes(texts)
    if not len(data):
        return np.zeros(n, dtype=np.int64), valid
    counts = np.empty(n, dtype=np.int64)
    # Texts in groups of about _CHUNK bytes: the byte-wide temporaries stay in the cache (a 10,000-row batch of
    # web pages holds ~45 MB; in one piece it took 3x longer per byte).
    cuts = np.searchsorted(offsets, np.arange(_CHUNK, len(data), _CHUNK), side="right") - 1
    bounds = np.unique(np.concatenate([[0], cuts[(cuts > 0) & (cuts < n)], [n]]))
    for low, high in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        begin, end = int(offsets[low]), int(offsets[high])
        counts[low:high] = _counts(data[begin:end], offsets[low : high + 1] - begin)
    return counts, valid


def word_counts_of(texts: list[str]) -> list[int]:
    """`len(text.split())` of each Python string, counted together on their UTF-8 bytes; a text Arrow cannot hold
    (a lone surrogate, which a rewrite could leave) makes them all counted by `str.split` instead."""
    try:
        return whitespace_word_counts(pa.array(texts, pa.large_string()))[0].tolist()
    except (UnicodeEncodeError, pa.ArrowException):
        return [len(text.split()) for text in texts]


def _counts(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Words of each text of `data` (UTF-8 bytes; text i spans offsets[i]:offsets[i + 1])."""
    if not len(data):
        return np.zeros(len(offsets) - 1, dtype=np.int64)
    # Byte classes by wrapping subtraction and comparison (numpy's SIMD loops; a 256-entry table lookup is ~3x
    # slower): \t..\r and U+001C..space.
    space = ((data - np.uint8(0x09)) <= 4) | ((data - np.uint8(0x1C)) <= 4)
    if (data >= 0xC2).any():  # a lead byte of a character of 2 or more bytes: maybe a wide space
        _mark_wide_spaces(data, space)
    # A word starts at a non-space byte that follows a space or opens a text (null texts span no bytes).
    starts = np.empty(len(data), dtype=bool)
    starts[0] = not space[0]
    np.greater(space[:-1], space[1:], out=starts[1:])
    opening = offsets[:-1][offsets[:-1] < offsets[1:]]
    starts[opening] = ~space[opening]
    return np.fromiter(
        (np.count_nonzero(starts[a:b]) for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)),
        dtype=np.int64,
        count=len(offsets) - 1,
    )


def _mark_wide_spaces(data: np.ndarray, space: np.ndarray) -> None:
    """Set `space` on every byte of each white-space character of 2 or 3 UTF-8 bytes in `data` (valid UTF-8)."""
    # Their lead bytes are C2 and E1..E3; comparisons find them, then only those positions are read further.
    leads = np.flatnonzero((data == 0xC2) | ((data - np.uint8(0xE1)) <= 2))
    if not len(leads):
        return
    last = len(data) - 1
    first_byte = data[leads].astype(np.int64)
    second = data[np.minimum(leads + 1, last)].astype(np.int64)
    third = data[np.minimum(leads + 2, last)].astype(np.int64)
    two_byte = first_byte == 0xC2
    keys = np.where(two_byte, (first_byte << 8) | second, (first_byte << 16) | (second << 8) | third)
    hits = np.isin(keys, _WIDE_SPACE_KEYS)
    for k, reach in ((0, hits), (1, hits), (2, hits & ~two_byte)):
        space[leads[reach] + k] = True
