"""`pii`: redacts e-mail addresses, IP addresses (v4 and v6) and phone numbers with placeholders.

Nothing is dropped; the counts of each kind of redaction are signals, so the stats table shows their totals
(mean x count) and distribution. Phone numbers are digit runs with the separators phone numbers are written
with (spaces, dots, dashes, parentheses, a leading +country code), 9 to 15 digits, in the shapes phone numbers
take (not dates, amounts with thousands separators, lists of years).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field
from pyspark.sql.types import LongType, StructField

from thresher.stages.base import RowStage, StageParams, StageResult
from thresher.stages.fused import DocBatch
from thresher.stages.registry import register

PiiKind = Literal["email", "ip", "phone"]

EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?!(?:png|jpe?g|gif|svg|webp|bmp|ico)\b)[A-Za-z]{2,24}\b"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)")
_H = r"[0-9A-Fa-f]{1,4}"
IPV6 = re.compile(
    r"(?<![\w:.])(?:"
    rf"(?:{_H}:){{7}}{_H}"
    rf"|(?:{_H}:){{1,7}}:"
    rf"|(?:{_H}:){{1,6}}:{_H}"
    rf"|(?:{_H}:){{1,5}}(?::{_H}){{1,2}}"
    rf"|(?:{_H}:){{1,4}}(?::{_H}){{1,3}}"
    rf"|(?:{_H}:){{1,3}}(?::{_H}){{1,4}}"
    rf"|(?:{_H}:){{1,2}}(?::{_H}){{1,5}}"
    rf"|{_H}:(?::{_H}){{1,6}}"
    rf"|:(?::{_H}){{1,7}}"
    r")(?![\w:])"
)
# Candidate phone numbers: an optional +country code, then digit groups separated by one space, dot, dash or
# slash, optionally with an area code in parentheses. Checked further by `_is_phone`.
PHONE = re.compile(
    r"(?<![\w+./-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,8}(?:[ ./-]\d{1,8}){0,5}(?![\w/]|[.-]\d)"
)
# What every phone candidate starts with, and what every IPv4 address holds: a leading class or literal is found
# by the regex engine's fast scan, where PHONE and IPV4 (led by a look-behind) are tried at every position.
_PHONE_START = re.compile(r"[+(\d]")
_IPV4_SHAPE = re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d")
_DATE = re.compile(r"\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
_GROUPS = re.compile(r"\d+")
_THOUSANDS = re.compile(r"\d{1,3}(?:[ .,]\d{3})+")
_YEAR = re.compile(r"(?:19|20)\d\d")


def _is_phone(candidate: str) -> bool:
    """Whether a candidate digit run is written like a phone number rather than an amount, a date or a list."""
    groups = _GROUPS.findall(candidate)
    digits = sum(map(len, groups))
    if not 9 <= digits <= 15 or _DATE.fullmatch(candidate):
        return False
    if candidate.startswith("+") or "(" in candidate:
        return True
    if not 2 <= len(groups) <= 5 or _THOUSANDS.fullmatch(candidate):
        return False
    if all(_YEAR.fullmatch(group) for group in groups):
        return False
    # National formats end with a group of 3+ digits (555-123-4567, 030 1234567) or are pairs after a leading
    # zero (06 12 34 56 78).
    return len(groups[-1]) >= 3 or (groups[0].startswith("0") and all(len(g) == 2 for g in groups))


class PiiParams(StageParams):
    redact: list[PiiKind] = Field(
        default_factory=lambda: ["email", "ip", "phone"],
        description="Kinds of personal data replaced by their placeholder.",
    )
    email_placeholder: str = Field(default="<EMAIL>", description="Replacement of an e-mail address.")
    ip_placeholder: str = Field(default="<IP_ADDRESS>", description="Replacement of an IPv4 or IPv6 address.")
    phone_placeholder: str = Field(default="<PHONE_NUMBER>", description="Replacement of a phone number.")


def redact_pii(text: str, p: PiiParams) -> tuple[str, dict[str, int]]:
    """The text with PII replaced, and the number of replacements of each kind."""
    counts = {"emails": 0, "ips": 0, "phones": 0}
    if "email" in p.redact and "@" in text:
        text, counts["emails"] = EMAIL.subn(p.email_placeholder, text)
    if "ip" in p.redact:
        if "." in text and _IPV4_SHAPE.search(text):
            text, found = IPV4.subn(p.ip_placeholder, text)
            counts["ips"] += found
        if "::" in text or text.count(":") >= 7:
            text, found = IPV6.subn(p.ip_placeholder, text)
            counts["ips"] += found
    if "phone" in p.redact:
        text, counts["phones"] = redact_phones(text, p.phone_placeholder)
    return text, counts


def redact_phones(text: str, placeholder: str) -> tuple[str, int]:
    """`PHONE.sub` keeping the candidates `_is_phone` rejects, with PHONE tried only where a candidate can start
    (about half the time on web pages); the same matches, left to right, without overlaps."""
    pieces: list[str] = []
    last = position = found = 0
    next_start, candidate_at = _PHONE_START.search, PHONE.match
    while (start := next_start(text, position)) is not None:
        at = start.start()
        # match() at a position still sees the characters before it: the look-behind holds as in a scan.
        candidate = candidate_at(text, at)
        if candidate is None:
            position = at + 1
            continue
        if _is_phone(candidate.group(0)):
            pieces += (text[last:at], placeholder)
            last = candidate.end()
            found += 1
        position = candidate.end()
    if not found:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), found


@register
class Pii(RowStage):
    """Redacts e-mail addresses, IP addresses and phone numbers; counts the redactions."""

    id = "pii"
    Params = PiiParams
    rewrites_text = True
    params: PiiParams

    def signal_fields(self) -> list[StructField]:
        return [StructField(name, LongType()) for name in ("emails", "ips", "phones")]

    def process(self, batch: DocBatch) -> StageResult:
        texts: list[str] = []
        signals: dict[str, list[int]] = {"emails": [], "ips": [], "phones": []}
        for text in batch.texts:
            new, counts = redact_pii(text, self.params)
            texts.append(new)
            for name, count in counts.items():
                signals[name].append(count)
        return StageResult(keep=[True] * len(batch), reason=[None] * len(batch), signals=signals, text=texts)
