"""Unicode and whitespace normalization of document text (pure functions)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Literal

UnicodeForm = Literal["NFC", "NFKC", "none"]

# C0 and C1 control characters except tab and newline, plus other invisible format characters that break
# tokenizers (zero-width no-break space / BOM, soft hyphen is kept as it is visible in some scripts).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff]")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85]")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_TRAILING_SPACE = re.compile(r"[^\S\n]+$", re.MULTILINE)
_LEADING_SPACE = re.compile(r"^[^\S\n]+", re.MULTILINE)


def normalize_text(
    text: str,
    form: UnicodeForm = "NFC",
    strip_control: bool = True,
    collapse_spaces: bool = True,
    max_blank_lines: int = 2,
) -> tuple[str, int]:
    """Return the normalized text and the number of control characters removed."""
    removed = 0
    # Each pass runs only where it can change something: a regex pass costs tens of microseconds per page even
    # when it matches nothing, and replacing every single space by a space cost most of this function's time.
    if "\r" in text or "\u2028" in text or "\u2029" in text or "\x85" in text:
        text = _LINE_BREAKS.sub("\n", text)
    if strip_control:
        text, removed = _CONTROL.subn("", text)
    if form != "none":
        text = unicodedata.normalize(form, text)
    if collapse_spaces and strip_control:
        # Line breaks are all \n now and the other vertical spaces (\v, \f, \x1c-\x1f) were control characters:
        # what str.split() splits on within a line is exactly the horizontal whitespace, and it drops the ends.
        text = "\n".join([" ".join(line.split()) for line in text.split("\n")])
    elif collapse_spaces:
        # Every run of horizontal whitespace (tabs, NBSP, ideographic spaces, ...) becomes one space.
        text = _TRAILING_SPACE.sub("", _LEADING_SPACE.sub("", _HORIZONTAL_SPACE.sub(" ", text)))
    else:
        # Lines of whitespace only become empty lines here.
        text = _TRAILING_SPACE.sub("", text)
    if "\n" * (max_blank_lines + 2) in text:
        text = _blank_run(max_blank_lines).sub("\n" * (max_blank_lines + 1), text)
    return text.strip(), removed


@lru_cache(maxsize=8)
def _blank_run(max_blank_lines: int) -> re.Pattern[str]:
    return re.compile("\n{" + str(max_blank_lines + 2) + ",}")
