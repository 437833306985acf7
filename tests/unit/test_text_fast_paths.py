"""The whole-text fast paths of refine's line keys and of text normalization give exactly what the line-by-line,
pass-by-pass definitions give, on text built to hit every whitespace, line-break, control, digit and casefolding
case (and on real pages when ../shared/data is there)."""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

import pytest

from thresher.text.normalize import normalize_text
from thresher.text.refine import line_hash, line_hashes

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"

# Every whitespace character (all that str.isspace() accepts), line breaks, controls, format characters, Unicode
# digits, punctuation and letters whose casefold or NFC changes them.
_WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()]
_PIECES = [
    *_WHITESPACE,
    "\r\n",
    "\n\n\n\n",
    "\x00",
    "\x07",
    "\x7f",
    "\x9c",
    "\ufeff",
    "\ufffe",
    "\u00ad",
    "\u200b",
    "0",
    "42",
    "\u0663",
    "\u096b",
    "\uff11",
    "²",
    "Straße",
    "İstanbul",
    "ﬁne",
    "ΣΑΣ",
    "e\u0301",
    "\u212b",
    "Hello",
    "world",
    "—",
    "...",
    "(c)",
    "#tag",
    "_",
    "€",
    "🙂",
]


def _texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 60))) for _ in range(count)]


def _real_texts() -> list[str]:
    import json

    path = SHARED / "dolma_cc_2019_30_raw.jsonl"
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    with path.open() as lines:
        return [json.loads(line)["text"] for line in lines][:400]


# The definitions as they were written first (one regex pass each, every pass always).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff]")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85]")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_TRAILING_SPACE = re.compile(r"[^\S\n]+$", re.MULTILINE)
_LEADING_SPACE = re.compile(r"^[^\S\n]+", re.MULTILINE)


def _reference_normalize(text: str, form: str, strip_control: bool, collapse: bool, blank: int) -> tuple[str, int]:
    removed = 0
    text = _LINE_BREAKS.sub("\n", text)
    if strip_control:
        text, removed = _CONTROL.subn("", text)
    if form != "none":
        text = unicodedata.normalize(form, text)
    if collapse:
        text = _LEADING_SPACE.sub("", _HORIZONTAL_SPACE.sub(" ", text))
    text = _TRAILING_SPACE.sub("", text)
    text = re.sub("\n{" + str(blank + 2) + ",}", "\n" * (blank + 1), text)
    return text.strip(), removed


def test_line_hashes_of_a_text_are_its_lines_hashes() -> None:
    texts = [*_texts(3000, seed=3), "", "\n", "a\nb", "Posted on 12/03/2019\n---\n Share  this! \n"]
    for text in texts:
        assert line_hashes(text) == [line_hash(line) for line in text.split("\n")], repr(text)


@pytest.mark.parametrize(
    ("form", "strip_control", "collapse", "blank"),
    [("NFC", True, True, 2), ("NFKC", True, True, 0), ("none", False, True, 1), ("NFC", True, False, 2)],
)
def test_normalize_text_is_the_pass_by_pass_definition(
    form: str, strip_control: bool, collapse: bool, blank: int
) -> None:
    for text in _texts(1500, seed=5):
        expected = _reference_normalize(text, form, strip_control, collapse, blank)
        assert normalize_text(text, form, strip_control, collapse, blank) == expected, repr(text)  # type: ignore[arg-type]


def test_fast_paths_on_real_pages() -> None:
    for text in _real_texts():
        assert normalize_text(text) == _reference_normalize(text, "NFC", True, True, 2)
        normalized = normalize_text(text)[0]
        assert line_hashes(normalized) == [line_hash(line) for line in normalized.split("\n")]


# refine's mojibake check as first written: an alternation of character classes.
_CP1252 = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
SUSPECT_ALTERNATION = re.compile(
    f"[\u00c2-\u00f4][\u0080-\u00bf{_CP1252}]|[\u0080-\u009f]|&#?\\w{{2,8}};|[\ud800-\udfff]|\x1b\\[|\ufeff"
)


def test_mojibake_check_finds_what_the_alternation_finds() -> None:
    from thresher.text.refine import _SUSPECT

    rng = random.Random(9)
    pieces = ["a", " ", "é", "Ã", "©", "\u0080", "\u0093", "’", "“", "&", "&amp;", "&#39;", "&#x20AC;", "&a;", "#"]
    pieces += ["\ud800", "\udfff", "\x1b", "\x1b[", "[", "\ufeff", "ô", "õ", "\u00bf", "\u00c0", "ß", "Â"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(20_000)]
    found = 0
    for text in texts:
        expected = SUSPECT_ALTERNATION.search(text) is not None
        assert (_SUSPECT.search(text) is not None) == expected, repr(text)
        found += expected
    assert 0 < found < len(texts)
    if (SHARED / "dolma_cc_2019_30_raw.jsonl").exists():
        for text in _real_texts():
            assert (_SUSPECT.search(text) is None) == (SUSPECT_ALTERNATION.search(text) is None)


def test_phone_and_ip_redaction_is_a_scan_with_the_patterns() -> None:
    # redact_pii looks for phones only where a candidate can start and for IPv4 only in texts of its shape: the
    # same result as substituting with the patterns over the whole text.
    from thresher.stages.quality.pii import IPV4, PHONE, PiiParams, _is_phone, redact_phones, redact_pii

    def reference_phones(text: str) -> tuple[str, int]:
        found = 0

        def replace(match: re.Match[str]) -> str:
            nonlocal found
            if _is_phone(match.group(0)):
                found += 1
                return "<PHONE_NUMBER>"
            return match.group(0)

        return PHONE.sub(replace, text), found

    rng = random.Random(13)
    pieces = ["0", "1", "5", "9", "42", "555", "1234", "2019", "\u0663", " ", ".", "-", "/", "(", ")", "+", "a", "x"]
    pieces += ["+1 ", "(030) ", "06 12 34 56 78", "192.168.", "10.0.0.1", "\n", ",", "_"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 25))) for _ in range(20_000)]
    phones = ips = 0
    for text in texts:
        expected = reference_phones(text)
        assert redact_phones(text, "<PHONE_NUMBER>") == expected, repr(text)
        phones += expected[1]
        ip_text, counts = redact_pii(text, PiiParams(redact=["ip"]))
        reference_ip, reference_count = IPV4.subn("<IP_ADDRESS>", text) if "." in text else (text, 0)
        if "::" not in text and text.count(":") < 7:
            assert (ip_text, counts["ips"]) == (reference_ip, reference_count), repr(text)
        ips += counts["ips"]
    assert phones > 100 and ips > 100
