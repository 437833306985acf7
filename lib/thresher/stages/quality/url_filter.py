"""`url_filter`: block lists over the document URL (RefinedWeb / FineWeb style).

Lists are files with one entry per line ('#' starts a comment). A domain entry blocks the domain and all its
subdomains; `allowed_domains` wins over every block list. Banned words match whole words of the URL (split at
non-alphanumerics), soft banned words need `soft_word_threshold` of them, banned sub-words match anywhere in
the URL with non-alphanumerics removed. The reason says which list matched; the `matched` signal says which
entry. The lists are loaded once per Python worker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pyspark.sql.types import StringType, StructField

from thresher.errors import ConfigError
from thresher.stages.base import ConfigPath, RowStage, StageParams, StageResult, worker_resource
from thresher.stages.fused import DocBatch
from thresher.stages.registry import register

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


class UrlFilterParams(StageParams):
    blocked_domains: list[ConfigPath] = Field(
        default_factory=list,
        description="Files of blocked domains, one a line (`#` comments); a domain blocks its subdomains.",
    )
    blocked_urls: list[ConfigPath] = Field(default_factory=list, description="Files of blocked URLs, one a line.")
    banned_words: list[ConfigPath] = Field(
        default_factory=list, description="Files of words that block a URL when they appear as a word in it."
    )
    soft_banned_words: list[ConfigPath] = Field(
        default_factory=list,
        description="Files of words that block a URL when `soft_word_threshold` of them appear in it.",
    )
    soft_word_threshold: int = Field(
        default=2, ge=1, description="Soft-banned words a URL may contain before it is blocked."
    )
    banned_subwords: list[ConfigPath] = Field(
        default_factory=list, description="Files of strings that block a URL when they appear anywhere in it."
    )
    allowed_domains: list[ConfigPath] = Field(
        default_factory=list, description="Files of domains that are never blocked (the allow list wins)."
    )
    # What to do with documents without a URL (or with one that has no host).
    missing_url: Literal["keep", "drop"] = "keep"

    @field_validator(
        "blocked_domains", "blocked_urls", "banned_words", "soft_banned_words", "banned_subwords", "allowed_domains"
    )
    @classmethod
    def _files_exist(cls, paths: list[str]) -> list[str]:
        missing = [p for p in paths if "://" not in p and not p.startswith("dbfs:") and not Path(p).is_file()]
        if missing:
            raise ValueError(f"list file(s) not found: {', '.join(missing)}")
        return paths


def read_list(paths: Iterable[str]) -> list[str]:
    """Entries of list files: stripped lines, without blank lines and '#' comments."""
    entries: list[str] = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"stages.url_filter: cannot read list {path}: {error}") from None
        for line in text.splitlines():
            entry = line.split("#", 1)[0].strip()
            if entry:
                entries.append(entry)
    return entries


def normalize_domain(entry: str) -> str:
    entry = entry.strip().lower().rstrip(".")
    if "://" in entry:
        entry = urlsplit(entry).hostname or ""
    return entry.removeprefix("*.").removeprefix("www.")


def host_of(url: str) -> str | None:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


def domain_suffixes(host: str) -> list[str]:
    """'a.b.example.com' -> ['a.b.example.com', 'b.example.com', 'example.com', 'com']."""
    parts = host.split(".")
    return [".".join(parts[i:]) for i in range(len(parts))]


@dataclass(frozen=True)
class UrlLists:
    blocked_domains: frozenset[str]
    allowed_domains: frozenset[str]
    blocked_urls: frozenset[str]
    banned_words: frozenset[str]
    soft_banned_words: frozenset[str]
    banned_subwords: re.Pattern[str] | None

    @classmethod
    def load(cls, p: UrlFilterParams) -> UrlLists:
        subwords = sorted({_NON_ALNUM.sub("", w.lower()) for w in read_list(p.banned_subwords)} - {""}, key=len)
        return cls(
            blocked_domains=frozenset(map(normalize_domain, read_list(p.blocked_domains))),
            allowed_domains=frozenset(map(normalize_domain, read_list(p.allowed_domains))),
            blocked_urls=frozenset(u.strip() for u in read_list(p.blocked_urls)),
            banned_words=frozenset(w.lower() for w in read_list(p.banned_words)),
            soft_banned_words=frozenset(w.lower() for w in read_list(p.soft_banned_words)),
            banned_subwords=re.compile("|".join(map(re.escape, reversed(subwords)))) if subwords else None,
        )


def _matching_domain(host: str, domains: frozenset[str]) -> str | None:
    if not domains:
        return None
    return next((suffix for suffix in domain_suffixes(host) if suffix in domains), None)


def url_decision(url: str | None, lists: UrlLists, p: UrlFilterParams) -> tuple[str | None, str | None, str | None]:
    """(host, reason, matched entry) for one URL; reason None keeps the document."""
    host = host_of(url) if url else None
    if not host:
        return None, ("missing_url" if p.missing_url == "drop" else None), None
    if _matching_domain(host, lists.allowed_domains):
        return host, None, None
    found = _matching_domain(host, lists.blocked_domains)
    if found:
        return host, "blocked_domain", found
    if url in lists.blocked_urls or url.strip().rstrip("/") in lists.blocked_urls:
        return host, "blocked_url", url
    lowered = url.lower()
    words = set(_NON_ALNUM.split(lowered))
    banned = sorted(words & lists.banned_words)
    if banned:
        return host, "banned_word", banned[0]
    soft = sorted(words & lists.soft_banned_words)
    if len(soft) >= p.soft_word_threshold:
        return host, "soft_banned_words", ",".join(soft)
    if lists.banned_subwords is not None:
        match = lists.banned_subwords.search(_NON_ALNUM.sub("", lowered))
        if match:
            return host, "banned_subword", match.group(0)
    return host, None, None


@register
class UrlFilter(RowStage):
    """URL block lists (domains with their subdomains, URLs, banned words and sub-words) and allow lists."""

    id = "url_filter"
    Params = UrlFilterParams
    params: UrlFilterParams

    def signal_fields(self) -> list[StructField]:
        return [StructField("host", StringType()), StructField("matched", StringType())]

    def setup(self) -> None:
        key = f"url_lists:{self.fingerprint()}"
        self._lists = worker_resource(key, lambda: UrlLists.load(self.params))

    def process(self, batch: DocBatch) -> StageResult:
        try:
            urls = batch.column("url")
        except KeyError:
            urls = [None] * len(batch)
        hosts, reasons, matched = [], [], []
        for url in urls:
            host, reason, entry = url_decision(url, self._lists, self.params)
            hosts.append(host)
            reasons.append(reason)
            matched.append(entry)
        return StageResult(
            keep=[r is None for r in reasons], reason=reasons, signals={"host": hosts, "matched": matched}
        )
