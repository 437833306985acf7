"""Text normalization before hashing, vectorized over Arrow string arrays (pyarrow compute kernels, RE2).

The same function serves exact dedup (hash of the normalized text) and MinHash shingling; the defaults of
`minhash_dedup` follow FineWeb: lowercase, punctuation removed, digits folded, accents stripped.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict

# RE2's `\s` is ASCII-only, so Unicode separators are named explicitly. The patterns match only text that
# changes (a lone space is left alone): RE2 replacements cost per match, and most spaces are single.
_ANY_SPACE = r"\s\p{Z}\x{0B}\x{85}"
_OTHER_SPACE = r"\t\n\x{0B}\f\r\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}"
_PUNCT = r"\p{P}\p{S}"
_WHITESPACE_RUN = rf" [{_ANY_SPACE}]+|[{_OTHER_SPACE}][{_ANY_SPACE}]*"
# Punctuation and symbols become a space, so words joined by a dash or a slash stay two words.
_PUNCTUATION_RUN = rf"[{_PUNCT}]+"
_PUNCTUATION_OR_WHITESPACE_RUN = rf"[{_PUNCT}{_OTHER_SPACE}][{_PUNCT}{_ANY_SPACE}]*| [{_PUNCT}{_ANY_SPACE}]+"
# A run of digits becomes one 0: numbers of any length compare equal.
_DIGITS_RUN = r"\p{Nd}+"
_COMBINING_MARKS = r"\p{Mn}+"


class TextNormalization(BaseModel):
    """Which differences between two texts are ignored when comparing them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lowercase: bool = False
    strip_accents: bool = False
    fold_digits: bool = False
    remove_punctuation: bool = False
    collapse_whitespace: bool = True


FINEWEB_NORMALIZATION = TextNormalization(
    lowercase=True, strip_accents=True, fold_digits=True, remove_punctuation=True, collapse_whitespace=True
)


def normalize_texts(texts: pa.Array, options: TextNormalization) -> pa.Array:
    """Normalize every string of `texts` (nulls stay null)."""
    out = texts
    if options.lowercase:
        out = pc.utf8_lower(out)
    if options.strip_accents:
        out = _strip_accents(out)
    if options.fold_digits:
        out = pc.replace_substring_regex(out, pattern=_DIGITS_RUN, replacement="0")
    if options.remove_punctuation and options.collapse_whitespace:
        out = pc.replace_substring_regex(out, pattern=_PUNCTUATION_OR_WHITESPACE_RUN, replacement=" ")
    elif options.remove_punctuation:
        out = pc.replace_substring_regex(out, pattern=_PUNCTUATION_RUN, replacement=" ")
    elif options.collapse_whitespace:
        out = pc.replace_substring_regex(out, pattern=_WHITESPACE_RUN, replacement=" ")
    if options.collapse_whitespace:
        out = pc.utf8_trim_whitespace(out)
    return out


def _strip_accents(texts: pa.Array) -> pa.Array:
    """Decompose (NFD) and drop combining marks. NFD is the slow part, so it only sees the strings holding a
    character that it might change (most non-ASCII text only has quotes, dashes or unaccented letters)."""
    needs_mask = pc.fill_null(pc.match_substring_regex(texts, _accent_affected_pattern()), False)
    needs = np.flatnonzero(needs_mask.to_numpy(zero_copy_only=False))
    if len(needs) == 0:
        return texts
    subset = pc.take(texts, pa.array(needs))
    stripped = pc.replace_substring_regex(
        pc.utf8_normalize(subset, form="NFD"), pattern=_COMBINING_MARKS, replacement=""
    )
    return pc.replace_with_mask(texts, needs_mask, stripped)


# Code points checked one by one for the accent pattern; all others (unassigned planes 4-13, private use planes
# 15-16) are treated as affected, so a text holding one takes the exact path.
_CHECKED_CODE_POINTS = ((0x80, 0xD800), (0xE000, 0x40000), (0xE0000, 0xF0000))
_COMBINING_LOW, _COMBINING_HIGH = 0x0334, 0x0F71  # canonical combining classes 1 and 129, no decomposition


@cache
def _accent_affected_pattern() -> str:
    """An RE2 class of every character that NFD + dropping combining marks might change, in any context: the
    characters NFD changes, those with a non-zero canonical combining class (NFD may reorder them), combining
    marks, and everything unchecked. A string without one of them is its own NFD and has no mark to drop.

    Derived from the same Unicode tables that do the work (Arrow's NFD, RE2's \\p{Mn}), so it holds for any
    pyarrow version. A character x with combining class c > 1 swaps with a following class-1 mark, one with
    0 < c < 129 with a preceding class-129 mark: the two pair tests find every non-zero class."""
    code_points = np.concatenate([np.arange(lo, hi, dtype=np.uint32) for lo, hi in _CHECKED_CODE_POINTS])
    changed = _nfd_changes(code_points[:, None])
    affected = [code_points[changed]]
    rest = code_points[~changed]
    low = np.full_like(rest, _COMBINING_LOW)
    high = np.full_like(rest, _COMBINING_HIGH)
    affected.append(rest[_nfd_changes(np.stack([rest, low], axis=1)) | _nfd_changes(np.stack([high, rest], axis=1))])
    points = np.unique(np.concatenate(affected))
    breaks = np.flatnonzero(np.diff(points) != 1)
    starts, ends = np.r_[points[:1], points[breaks + 1]], np.r_[points[breaks], points[-1:]]
    ranges = "".join(
        f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}"
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    )
    return rf"[\p{{Mn}}{ranges}\x{{40000}}-\x{{DFFFF}}\x{{F0000}}-\x{{10FFFF}}]"


def _nfd_changes(code_points: np.ndarray) -> np.ndarray:
    """Whether Arrow's NFD changes each row of `code_points` (rows x k, no surrogates) read as a string."""
    utf8 = code_points.astype("<u4").tobytes().decode("utf-32-le").encode("utf-8")
    widths = 1 + (code_points >= 0x80) + (code_points >= 0x800) + (code_points >= 0x10000)
    offsets = np.concatenate([[0], np.cumsum(widths.sum(axis=1))]).astype(np.int32)
    strings = pa.Array.from_buffers(pa.string(), len(code_points), [None, pa.py_buffer(offsets), pa.py_buffer(utf8)])
    changed = pc.not_equal(pc.utf8_normalize(strings, form="NFD"), strings)
    return changed.to_numpy(zero_copy_only=False)
