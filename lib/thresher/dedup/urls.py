"""URL normalization for URL dedup: two URLs with the same normalized form address the same page."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict

# Query parameters that track the visitor, not select the content.
_TRACKING = re.compile(r"^(utm_[a-z_]+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|igshid)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left unescaped in a normalized path (RFC 3986 unreserved, sub-delims, ':', '@', '/').
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


class UrlNormalization(BaseModel):
    """Which differences between two URLs are ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # http://x/a and https://x/a are the same page.
    ignore_scheme: bool = True
    # www.example.com and example.com are the same site.
    ignore_www: bool = True
    # /a/ and /a are the same page.
    ignore_trailing_slash: bool = True
    # Drop utm_*, fbclid, gclid and other tracking parameters; sort the others.
    drop_tracking_params: bool = True
    # Drop the whole query string (for sites where it never selects content).
    ignore_query: bool = False
    lowercase_path: bool = False


def normalize_url(url: str | None, options: UrlNormalization) -> str | None:
    """The normalized form of `url`, or None when it has no host (not comparable to anything)."""
    if url is None:
        return None
    url = url.strip()
    if not url:
        return None
    if "://" not in url and not url.startswith("//"):
        head = url.split("/", 1)[0]
        if ":" in head and not head.rsplit(":", 1)[1].isdigit():
            return None  # mailto:, javascript:, urn: ... address no page
        url = "//" + url
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    scheme = parts.scheme.lower()
    host = host.rstrip(".")
    if options.ignore_www and host.startswith("www."):
        host = host[4:]
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    path = _normalize_path(parts.path, options)
    query = "" if options.ignore_query else _normalize_query(parts.query, options)
    prefix = "//" if options.ignore_scheme or not scheme else f"{scheme}://"
    return f"{prefix}{netloc}{path}{'?' + query if query else ''}"


def _normalize_path(path: str, options: UrlNormalization) -> str:
    segments: list[str] = []
    for segment in quote(unquote(path), safe=_PATH_SAFE).split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in (".", ""):
            segments.append(segment)
    normalized = "/" + "/".join(segments)
    if path.endswith("/") and segments and not options.ignore_trailing_slash:
        normalized += "/"
    return normalized.lower() if options.lowercase_path else normalized


def _normalize_query(query: str, options: UrlNormalization) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    if options.drop_tracking_params:
        pairs = [(k, v) for k, v in pairs if not _TRACKING.match(k.lower())]
    return urlencode(sorted(pairs))
