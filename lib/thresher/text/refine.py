"""Document refinement helpers (pure functions): mojibake repair, the line keys of the corpus-wide line
frequency pass (CCNet, Wenzek et al. 2020), and removal of lines by key."""

from __future__ import annotations

import re
from collections.abc import Collection

import ftfy
import xxhash

# ftfy only where it can have something to fix: UTF-8 read as Latin-1 / Windows-1252 (a lead byte character
# followed by a continuation byte character), C1 controls, HTML entities, lone surrogates, terminal escapes,
# byte order marks. Checking costs microseconds; ftfy costs a millisecond per page.
_CP1252_CONTINUATION = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
# One character class first, the rest as look-arounds: Python's regex engine scans for a leading class in C, where
# an alternation of classes (the same test: `SUSPECT_ALTERNATION` in the tests) is tried at every position, 5x slower.
_SUSPECT = re.compile(
    "[\u00c2-\u00f4\u0080-\u009f&\ud800-\udfff\x1b\ufeff]"
    f"(?:(?<=[\u00c2-\u00f4])(?=[\u0080-\u00bf{_CP1252_CONTINUATION}])"
    "|(?<=[\u0080-\u009f\ud800-\udfff\ufeff])|(?<=&)(?=#?\\w{2,8};)|(?<=\x1b)(?=\\[))"
)
_FTFY = ftfy.TextFixerConfig(
    # Only repairs: no re-styling of quotes, full-width forms or ligatures, no normalization (done separately).
    uncurl_quotes=False,
    fix_character_width=False,
    fix_latin_ligatures=False,
    fix_line_breaks=False,
    normalization=None,
    explain=False,
)


# What ftfy can change in an ASCII line under _FTFY: HTML entities and the control characters it removes (terminal
# escapes among them). Every other fixer needs a character beyond ASCII.
_ASCII_FTFY_TARGET = re.compile("[&\x00-\x08\x0b\x0e-\x1f\x7f]")


def fix_mojibake(text: str) -> str:
    """`ftfy.fix_text(text, _FTFY)` where the text shows signs of mojibake, else the text as it is.

    ftfy fixes a text line by line (its segments end at each newline), each on its own, except that HTML
    entities stay escaped from the first line containing "<" on. So only lines ftfy could change are passed to it:
    an ASCII line without "&" or a control character comes back unchanged and is kept as it is (a web page has
    a suspect line or two among dozens of plain ones)."""
    if not _SUSPECT.search(text):
        return text
    config = _FTFY
    out = []
    start = 0
    while start < len(text):
        end = text.find("\n", start) + 1 or len(text)
        segment = text[start:end]
        plain = segment.isascii() and not _ASCII_FTFY_TARGET.search(segment)
        out.append(segment if plain else ftfy.fix_text(segment, config))
        if config.unescape_html == "auto" and "<" in segment:
            config = config._replace(unescape_html=False)
        start = end
    return "".join(out)


_DIGIT = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


def line_key(line: str) -> str:
    """The form a line is compared in across documents: case-folded, numbers as 0, punctuation and symbols
    removed, spaces collapsed (so "Posted on 12/03/2019" and "posted on 01/01/2020" are the same boilerplate)."""
    key = _NOT_WORD.sub("", _DIGIT.sub("0", line.casefold()))
    return _SPACES.sub(" ", key).strip()


def line_hash(line: str) -> int | None:
    """Signed 64-bit hash of the line's key; None for lines with an empty key (blank or only punctuation)."""
    return _key_hash(line_key(line))


def _key_hash(key: str) -> int | None:
    if not key:
        return None
    value = xxhash.xxh64_intdigest(key.encode("utf-8", "surrogatepass"))
    return value - (1 << 64) if value >= 1 << 63 else value


def line_hashes(text: str) -> list[int | None]:
    """`[line_hash(line) for line in text.split("\\n")]`, with each pass over the whole text instead of once per
    line: casefolding, digits and punctuation never cross or remove a \\n, and str.split() splits on exactly the
    whitespace `\\s` matches."""
    keys = _NOT_WORD.sub("", _DIGIT.sub("0", text.casefold())).split("\n")
    return [_key_hash(" ".join(line.split())) for line in keys]


def remove_lines(text: str, hashes: list[int | None], drop: Collection[int]) -> tuple[str, int]:
    """`text` without its lines whose hash is in `drop` (hashes[i] is the hash of line i of text.split('\\n'))."""
    if not drop:
        return text, 0
    kept = [line for line, value in zip(text.split("\n"), hashes, strict=True) if value is None or value not in drop]
    removed = len(hashes) - len(kept)
    return "\n".join(kept).strip(), removed
