"""Writing WARC records (Spark-free): the demo corpus and the tests build their archives with it.

Each record is its own gzip member when compressed, as Common Crawl writes them.
"""

from __future__ import annotations

import gzip
import hashlib
import uuid


def record_id(seed: str) -> str:
    """A deterministic WARC-Record-ID (angle brackets included) for `seed`."""
    return f"<urn:uuid:{uuid.UUID(hashlib.sha256(seed.encode()).hexdigest()[:32])}>"


def warc_record(
    warc_type: str, headers: dict[str, str], block: bytes, *, date: str = "2024-05-20T10:00:00Z", seed: str = ""
) -> bytes:
    """One WARC/1.0 record: the WARC headers (WARC-Type, -Record-ID, -Date, Content-Length added) and block."""
    lines = [
        "WARC/1.0",
        f"WARC-Type: {warc_type}",
        f"WARC-Record-ID: {headers.pop('WARC-Record-ID', None) or record_id(seed or warc_type + repr(headers))}",
        f"WARC-Date: {date}",
    ]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    lines.append(f"Content-Length: {len(block)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + block + b"\r\n\r\n"


def response_record(
    url: str,
    body: bytes,
    *,
    status: int = 200,
    content_type: str = "text/html; charset=utf-8",
    extra_http: dict[str, str] | None = None,
    seed: str | None = None,
) -> bytes:
    reason = {200: "OK", 301: "Moved Permanently", 404: "Not Found", 500: "Internal Server Error"}.get(status, "X")
    http_lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    http_lines.extend(f"{k}: {v}" for k, v in (extra_http or {}).items())
    block = ("\r\n".join(http_lines) + "\r\n\r\n").encode("latin-1") + body
    digest = "sha1:" + hashlib.sha1(body).hexdigest().upper()
    headers = {
        "WARC-Target-URI": url,
        "Content-Type": "application/http; msgtype=response",
        "WARC-Payload-Digest": digest,
    }
    return warc_record("response", headers, block, seed=seed or f"response {url}")


def request_record(url: str) -> bytes:
    host = url.split("/")[2] if "://" in url else url
    block = f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: thresher-demo\r\n\r\n".encode()
    headers = {"WARC-Target-URI": url, "Content-Type": "application/http; msgtype=request"}
    return warc_record("request", headers, block, seed=f"request {url}")


def metadata_record(url: str) -> bytes:
    headers = {"WARC-Target-URI": url, "Content-Type": "application/warc-fields"}
    return warc_record("metadata", headers, b"fetchTimeMs: 120\r\n", seed=f"metadata {url}")


def warcinfo_record(filename: str) -> bytes:
    block = b"software: thresher\r\nformat: WARC File Format 1.0\r\n"
    headers = {"WARC-Filename": filename, "Content-Type": "application/warc-fields"}
    return warc_record("warcinfo", headers, block, seed=f"warcinfo {filename}")


def conversion_record(url: str, text: str) -> bytes:
    headers = {"WARC-Target-URI": url, "Content-Type": "text/plain"}
    return warc_record("conversion", headers, text.encode("utf-8"), seed=f"conversion {url}")


def gzip_member(record: bytes) -> bytes:
    """One record as its own gzip member (mtime 0: the same bytes on every run)."""
    return gzip.compress(record, mtime=0)
