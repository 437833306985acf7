"""WARC / WET files -> one row per record: a raw document, a record skipped on purpose, or a quarantine row.

Spark-free. Ingest calls `WarcReader` inside `mapInArrow`, one task per file; records are streamed with
FastWARC (measured 2.6-3x less CPU than warcio on the shared Common Crawl samples), one record in memory at a
time, payloads read up to `max_payload_bytes`.

* `response` records with an HTML-ish content type and HTTP 2xx become documents whose `text` is the decoded
  HTML (the `extract` stage replaces it by the main text); `meta` carries the WARC and HTTP headers that
  matter (`warc_record_id` exactly as in the file, angle brackets included) and `warc_type`.
* `conversion` records (WET) become text documents directly.
* Every other record is skipped on purpose and counted by kind (SKIP_* below): request, metadata, warcinfo,
  revisit, resource, non_html, http_3xx/4xx/5xx, empty_payload.
* Broken records go to quarantine with the file and the byte offset of the record (or gzip member):
  truncated records, bad gzip members (reading resumes at the next member that starts a WARC record),
  headers that cannot be parsed or decoded, payloads over the size limit or with an unknown encoding.

So `records == documents + skipped + quarantined` holds per file.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

# Skip kinds (the `skipped` column; counted per kind in the ingest stats).
SKIP_NON_HTML = "non_html"
SKIP_EMPTY = "empty_payload"
# Record types that never hold a document: the record type is the kind.
_SKIPPED_TYPES = {"warcinfo", "request", "metadata", "revisit", "resource", "continuation", "unknown"}

# Quarantine reasons.
TRUNCATED_RECORD = "truncated_record"
BAD_GZIP_MEMBER = "bad_gzip_member"
BAD_HEADER = "bad_warc_header"
UNDECODABLE_HEADER = "undecodable_header"
BAD_CONTENT_ENCODING = "bad_content_encoding"
PAYLOAD_TOO_LARGE = "too_large"

HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml+html", "text/xhtml")
# Characters of a broken record kept in quarantine's `raw`.
_RAW_KEEP_BYTES = 4096
_GZIP_MAGIC = b"\x1f\x8b\x08"
_SCAN_CHUNK = 1 << 20
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)
# WHATWG: these labels mean windows-1252 on the web.
_WEB_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252"}


@dataclass(frozen=True)
class WarcOptions:
    source: str
    # Larger payloads (HTML or WET text, bytes) go to quarantine with reason `too_large`.
    max_payload_bytes: int = 4_000_000


# FastWARC reads WARC only; ARC files are refused by name rather than quarantined record by record.
ARC_NOT_SUPPORTED = (
    "ARC files (the Internet Archive's format before WARC) are not supported; "
    "convert them to WARC first (e.g. warchaeology's `warc convert arc`)"
)


def is_arc_name(path: str) -> bool:
    return path.lower().endswith((".arc", ".arc.gz"))


def is_gzip_name(path: str) -> bool:
    return path.lower().endswith(".gz")


def iter_records(path: str, handle: IO[bytes], size: int, options: WarcOptions) -> Iterator[dict[str, Any]]:
    """Every record of one WARC/WET file as an ingest row (see the module doc).

    `handle` must be seekable (a local file or a pyarrow random-access file); reading restarts after damage.
    """
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    gzipped = is_gzip_name(path)
    start = 0
    while start is not None and start < size:
        handle.seek(start)
        last_offset: int | None = None
        # FastWARC counts stream positions from where it starts reading only through a plain reader.
        records = ArchiveIterator(
            _PlainReader(handle),
            parse_http=False,
            record_types=WarcRecordType.any_type,
            auto_decode="none",
            fsspec_args=False,
        )
        # One row is held back: a record with incomplete headers at the very end of the file is a truncation.
        pending: dict[str, Any] | None = None
        try:
            for record in records:
                last_offset = start + record.stream_pos
                try:
                    row = _record_row(path, last_offset, record, options)
                except OSError as error:
                    # The payload of this record failed to decompress: its member is the damaged one.
                    row = _broken(path, options, last_offset, BAD_GZIP_MEMBER, error)
                    start = _next_record_start(handle, last_offset + 1, size, gzipped)
                    break
                if pending is not None:
                    yield pending
                pending = row
            else:
                if pending is not None:
                    if pending.get("q_reason") == BAD_HEADER:
                        pending.update(q_reason=TRUNCATED_RECORD, q_error="the file ends inside the record's headers")
                    yield pending
                yield from _check_tail(path, handle, size, gzipped, last_offset, start, options)
                return
            if pending is not None:
                yield pending
            yield row
        except OSError as error:
            if pending is not None:
                yield pending
            damaged = _after_record(handle, last_offset, size, gzipped) if last_offset is not None else start
            # When the damage starts at the last record read, that record's row already says what is wrong.
            if last_offset is None or damaged > last_offset:
                yield _broken(path, options, damaged, BAD_GZIP_MEMBER if gzipped else BAD_HEADER, error)
            start = _next_record_start(handle, damaged + 1, size, gzipped)


def _record_row(path: str, offset: int, record: Any, options: WarcOptions) -> dict[str, Any]:
    headers = record.headers
    record_type = str(headers.get("WARC-Type") or "").lower()
    record_id = headers.get("WARC-Record-ID")
    if not record_id or not record_type:
        return _broken_bytes(path, options, offset, BAD_HEADER, "record without WARC-Type or WARC-Record-ID", b"")
    url = headers.get("WARC-Target-URI")
    if "\ufffd" in record_id or (url and "\ufffd" in url):
        return _broken_bytes(path, options, offset, UNDECODABLE_HEADER, "WARC header is not valid UTF-8", b"")
    if record_type not in ("response", "conversion"):
        kind = record_type if record_type in _SKIPPED_TYPES else "unknown"
        return _skipped(path, options, offset, kind)
    declared_length = _int_or_none(headers.get("Content-Length"))
    if declared_length is None:
        return _broken_bytes(path, options, offset, BAD_HEADER, "Content-Length missing or not a number", b"")
    payload = record.reader.read(options.max_payload_bytes + 1)
    if len(payload) > options.max_payload_bytes:
        return _broken_bytes(
            path, options, offset, PAYLOAD_TOO_LARGE, f"record over {options.max_payload_bytes} bytes", payload
        )
    if len(payload) < declared_length:
        error = f"record declares {declared_length} bytes, the file holds {len(payload)}"
        return _broken_bytes(path, options, offset, TRUNCATED_RECORD, error, payload)
    meta = {
        "warc_type": record_type,
        "warc_record_id": record_id,
        "warc_date": headers.get("WARC-Date"),
        "payload_digest": headers.get("WARC-Payload-Digest") or headers.get("WARC-Block-Digest"),
    }
    if record_type == "conversion":
        meta["content_type"] = headers.get("Content-Type")
        meta["refers_to"] = headers.get("WARC-Refers-To")
        meta["identified_language"] = headers.get("WARC-Identified-Content-Language")
        text = payload.decode("utf-8", errors="replace").strip()
        if not text:
            return _skipped(path, options, offset, SKIP_EMPTY)
        return _document(path, options, offset, record_id, url, text, meta, len(payload))
    return _response_row(path, options, offset, record_id, url, payload, meta)


def _response_row(
    path: str,
    options: WarcOptions,
    offset: int,
    record_id: str,
    url: str | None,
    block: bytes,
    meta: dict[str, str | None],
) -> dict[str, Any]:
    try:
        status, http_headers, body = parse_http_response(block)
    except ValueError as error:
        if not block.startswith(b"HTTP/"):
            # dns:, ftp: and other non-HTTP responses.
            return _skipped(path, options, offset, SKIP_NON_HTML)
        return _broken_bytes(path, options, offset, BAD_HEADER, f"HTTP header: {error}", block)
    if not 200 <= status < 300:
        return _skipped(path, options, offset, f"http_{status // 100}xx")
    content_type = http_headers.get("content-type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime not in HTML_TYPES and not (not mime and _looks_like_html(body)):
        return _skipped(path, options, offset, SKIP_NON_HTML)
    try:
        body = decode_transfer(body, http_headers)
    except (ValueError, zlib.error) as error:
        return _broken_bytes(path, options, offset, BAD_CONTENT_ENCODING, str(error), block)
    if not body.strip():
        return _skipped(path, options, offset, SKIP_EMPTY)
    text, charset = decode_html(body, charset_of(content_type))
    meta.update(content_type=content_type or None, http_status=str(status), charset=charset)
    return _document(path, options, offset, record_id, url, text, meta, len(block))


def parse_http_response(block: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, body) of an HTTP response block."""
    end = block.find(b"\r\n\r\n")
    separator = 4
    if end < 0:
        end, separator = block.find(b"\n\n"), 2
    if end < 0:
        raise ValueError("no end of HTTP headers")
    lines = block[:end].decode("latin-1").splitlines()
    parts = lines[0].split(None, 2) if lines else []
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"bad status line {lines[0][:100] if lines else ''!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, block[end + separator :]


def decode_transfer(body: bytes, headers: dict[str, str]) -> bytes:
    """Undo chunked transfer encoding and gzip/deflate content encoding (Common Crawl stores payloads decoded
    already; other crawlers do not)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        body = zlib.decompress(body, wbits=47)
    elif encoding == "deflate":
        try:
            body = zlib.decompress(body)
        except zlib.error:
            body = zlib.decompress(body, wbits=-15)
    elif encoding not in ("", "identity", "none"):
        raise ValueError(f"unsupported content encoding {encoding!r}")
    return body


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    position = 0
    while True:
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            raise ValueError("chunked body ends without its last chunk")
        size_text = body[position:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ValueError(f"bad chunk size {size_text[:20]!r}") from None
        if size == 0:
            return bytes(out)
        out += body[line_end + 2 : line_end + 2 + size]
        position = line_end + 2 + size + 2


def charset_of(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip("\"'"):
            return value.strip().strip("\"'")
    return None


def decode_html(body: bytes, declared: str | None) -> tuple[str, str]:
    """(text, encoding used). Pages lie about their charset: a BOM wins, then valid UTF-8, then the HTTP
    charset and the <meta> charset when they decode the bytes cleanly, then detection (uchardet through
    Resiliparse), then UTF-8 with replacement characters."""
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if body.startswith(bom):
            return body[len(bom) :].decode(name, errors="replace"), name
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    meta_match = _META_CHARSET.search(body[:8192])
    candidates = [declared, meta_match.group(1).decode("ascii") if meta_match else None]
    for candidate in candidates:
        name = _codec_name(candidate)
        if name is None or name == "utf-8":
            continue
        try:
            return body.decode(name), name
        except (UnicodeDecodeError, LookupError):
            continue
    from resiliparse.parse.encoding import detect_encoding

    detected = _codec_name(detect_encoding(body))
    if detected is not None:
        try:
            return body.decode(detected), detected
        except (UnicodeDecodeError, LookupError):
            pass
    return body.decode("utf-8", errors="replace"), "utf-8"


def _codec_name(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    label = _WEB_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# -- rows ---------------------------------------------------------------------------------------------------


def _origin(path: str, offset: int) -> dict[str, Any]:
    return {"file": path, "line": None, "offset": offset}


def _document(
    path: str,
    options: WarcOptions,
    offset: int,
    record_id: str,
    url: str | None,
    text: str,
    meta: dict[str, str | None],
    raw_bytes: int,
) -> dict[str, Any]:
    return {
        # The id without its angle brackets; meta keeps the header exactly as in the file.
        "input_id": record_id.strip().removeprefix("<").removesuffix(">"),
        "text": text,
        "url": url,
        "source": options.source,
        "meta": {k: v for k, v in meta.items() if v is not None},
        "origin": _origin(path, offset),
        "raw_bytes": raw_bytes,
    }


def _skipped(path: str, options: WarcOptions, offset: int, kind: str) -> dict[str, Any]:
    return {"source": options.source, "origin": _origin(path, offset), "skipped": kind}


def _broken(path: str, options: WarcOptions, offset: int, reason: str, error: BaseException) -> dict[str, Any]:
    return _broken_bytes(path, options, offset, reason, f"{type(error).__name__}: {error}", b"")


def _broken_bytes(path: str, options: WarcOptions, offset: int, reason: str, error: str, raw: bytes) -> dict[str, Any]:
    return {
        "source": options.source,
        "origin": _origin(path, offset),
        "raw_bytes": len(raw) or None,
        "q_reason": reason,
        "q_error": error[:1000],
        "q_raw": raw[:_RAW_KEEP_BYTES].decode("utf-8", errors="replace") if raw else None,
    }


# -- damage: where it starts, where reading resumes ---------------------------------------------------------


def _member_end(handle: IO[bytes], offset: int, size: int) -> int | None:
    """End offset of the gzip member starting at `offset`, None when it does not decompress to its end."""
    handle.seek(offset)
    decompressor = zlib.decompressobj(wbits=31)
    position = offset
    try:
        while position < size:
            chunk = handle.read(min(_SCAN_CHUNK, size - position))
            if not chunk:
                return None
            decompressor.decompress(chunk)
            if decompressor.eof:
                return position + len(chunk) - len(decompressor.unused_data)
            position += len(chunk)
    except zlib.error:
        return None
    return None


def _after_record(handle: IO[bytes], offset: int, size: int, gzipped: bool) -> int:
    """Offset of what follows the (good) record at `offset`: where the damage found after it starts."""
    if gzipped:
        end = _member_end(handle, offset, size)
        return end if end is not None else offset
    handle.seek(offset)
    head = handle.read(65_536)
    header_end = head.find(b"\r\n\r\n")
    match = re.search(rb"\r\nContent-Length:\s*(\d+)", head[: max(header_end, 0)], re.IGNORECASE)
    if header_end < 0 or match is None:
        return offset
    return offset + header_end + 4 + int(match.group(1)) + 4


def _starts_record(handle: IO[bytes], offset: int, gzipped: bool) -> bool:
    handle.seek(offset)
    head = handle.read(4096)
    if not gzipped:
        return head.startswith(b"WARC/")
    try:
        return zlib.decompressobj(wbits=31).decompress(head, 8).startswith(b"WARC/")
    except zlib.error:
        return False


def _next_record_start(handle: IO[bytes], offset: int, size: int, gzipped: bool) -> int | None:
    """The first offset at or after `offset` where a readable record starts (a gzip member whose content
    starts with 'WARC/', or a 'WARC/' line in a plain file)."""
    marker = _GZIP_MAGIC if gzipped else b"WARC/"
    position = offset
    while position < size:
        handle.seek(position)
        window = handle.read(_SCAN_CHUNK + len(marker))
        if not window:
            return None
        found = window.find(marker)
        while found >= 0:
            candidate = position + found
            if (gzipped or found == 0 or window[found - 1 : found] == b"\n") and _starts_record(
                handle, candidate, gzipped
            ):
                return candidate
            found = window.find(marker, found + 1)
        position += _SCAN_CHUNK
    return None


def _check_tail(
    path: str,
    handle: IO[bytes],
    size: int,
    gzipped: bool,
    last_offset: int | None,
    start: int,
    options: WarcOptions,
) -> Iterator[dict[str, Any]]:
    """FastWARC ends quietly at a record cut inside its headers: anything after the last record read is
    a truncated record."""
    tail = _after_record(handle, last_offset, size, gzipped) if last_offset is not None else start
    if tail >= size or (last_offset is not None and tail <= last_offset):
        # Nothing left, or the last record itself is damaged (its row says so already).
        return
    handle.seek(tail)
    rest = handle.read(min(size - tail, _RAW_KEEP_BYTES))
    if not gzipped and not rest.strip():
        return
    if gzipped:
        with contextlib.suppress(zlib.error):
            rest = zlib.decompressobj(wbits=31).decompress(rest)
    yield _broken_bytes(
        path, options, tail, TRUNCATED_RECORD, f"{size - tail} bytes at the end of the file hold no whole record", rest
    )


class _PlainReader:
    """A reader whose positions count from where reading started, so FastWARC's `stream_pos` is relative to
    the resume point whatever kind of file lies below."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._position += len(data)
        return data

    def tell(self) -> int:
        return self._position


def open_seekable(path: str) -> tuple[IO[bytes], int]:
    """A seekable binary handle and the size of a local file or object-store file."""
    from thresher.io import fs

    # Hadoop's s3a:// names the same objects as s3:// (pyarrow knows only the latter).
    filesystem, name = fs.filesystem("s3://" + path[len("s3a://") :] if path.startswith("s3a://") else path)
    handle = filesystem.open_input_file(name)
    return handle, handle.size()  # type: ignore[return-value]


def read_all(path: str, options: WarcOptions) -> list[dict[str, Any]]:
    """All rows of a file (tests and tools)."""
    handle, size = open_seekable(path)
    with handle:
        return list(iter_records(path, handle, size, options))


def rows_of_bytes(data: bytes, name: str, options: WarcOptions) -> list[dict[str, Any]]:
    """All rows of an in-memory WARC named `name` (tests)."""
    return list(iter_records(name, io.BytesIO(data), len(data), options))
