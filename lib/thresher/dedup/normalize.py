"""Text normalization before hashing, vectorized over Arrow string arrays (pyarrow compute kernels, RE2).

The same function serves exact dedup (hash of the normalized text) and MinHash shingling; the defaults of
`minhash_dedup` follow FineWeb: lowercase, punctuation removed, digits folded, accents stripped.
"""

from __future__ import annotations

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
    """Decompose (NFD) and drop combining marks; only non-ASCII strings need the work."""
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
