"""JSON-lines records -> canonical documents or quarantine rows (Spark-free).

Every line of the input becomes exactly one output row: a document, or a quarantine row whose `reason` says
what is wrong with it. Nothing is dropped silently.
"""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson
import zstandard

from thresher.io.spec import FieldSpec

# Quarantine reasons (the `reason` column of quarantine/).
INVALID_UTF8 = "invalid_utf8"
INVALID_JSON = "invalid_json"
NOT_AN_OBJECT = "not_an_object"
EMPTY_LINE = "empty_line"
MISSING_TEXT = "missing_text"
NULL_TEXT = "null_text"
TEXT_NOT_STRING = "text_not_string"
EMPTY_TEXT = "empty_text"
BLANK_TEXT = "blank_text"
INVALID_UNICODE = "invalid_unicode"
INVALID_ID = "invalid_id"
TOO_LARGE = "too_large"
UNREADABLE_FILE = "unreadable_file"
DUPLICATE_ID = "duplicate_id"

# The raw record kept in quarantine is cut to this many characters (the full size is in raw_bytes).
RAW_KEEP_CHARS = 16_384


@dataclass(frozen=True)
class ParseOptions:
    source: str
    fields: FieldSpec
    max_text_chars: int


def open_decompressed(handle: IO[bytes], name: str) -> IO[bytes]:
    """A buffered, line-readable stream of the decompressed content (.gz, .zst or plain by file name).

    Decompression runs chunk by chunk so that a truncated or corrupt file still yields every record before
    the damage; the error surfaces on the read that reaches it.
    """
    lower = name.lower()
    if lower.endswith(".gz"):
        raw: io.RawIOBase = _Decompressing(handle, lambda: zlib.decompressobj(wbits=31))
    elif lower.endswith((".zst", ".zstd")):
        raw = _Decompressing(handle, lambda: zstandard.ZstdDecompressor().decompressobj(), _zstd_frame_checked)
    else:
        # pyarrow's streams do not implement readline(limit); a BufferedReader does.
        return io.BufferedReader(handle, buffer_size=1 << 16)  # type: ignore[arg-type]
    return io.BufferedReader(raw, buffer_size=1 << 16)


# Garbled lines from a frame without checksum get this note in their quarantine error (and the run's limit
# error names the file): a zstd frame written without a content checksum decodes some corruption into wrong
# bytes instead of failing, which is not detectable after the fact.
UNCHECKED_FRAME_NOTE = (
    "in a zstd frame without content checksum: a corrupt compressed file decodes to garbled lines, not an error"
)


def _zstd_frame_checked(head: bytes) -> bool:
    """Whether the zstd frame starting with `head` carries a content checksum (skippable frames: true)."""
    if not head.startswith(zstandard.FRAME_HEADER):
        return True
    try:
        return bool(zstandard.get_frame_parameters(head[:18]).has_checksum)
    except zstandard.ZstdError:
        return True  # an unreadable header fails the decompression itself


def unchecked_frames(stream: IO[bytes]) -> int:
    """Frames read so far from `stream` (made by open_decompressed) that carry no content checksum."""
    return int(getattr(getattr(stream, "raw", None), "frames_without_checksum", 0))


class _Decompressing(io.RawIOBase):
    """A raw stream over a compressed stream; handles concatenated members/frames, and counts the frames
    without content checksum when given `frame_checked`."""

    def __init__(
        self,
        source: IO[bytes],
        new_decompressor: Callable[[], Any],
        frame_checked: Callable[[bytes], bool] | None = None,
        chunk: int = 1 << 16,
    ) -> None:
        self._source = source
        self._new = new_decompressor
        self._decompressor = new_decompressor()
        self._frame_checked = frame_checked
        self._chunk = chunk
        self._pending = b""
        self._position = 0
        self._source_done = False
        self._at_frame_start = True
        self.frames_without_checksum = 0

    def _start_frame(self, head: bytes) -> None:
        if self._frame_checked is not None and not self._frame_checked(head):
            self.frames_without_checksum += 1
        self._at_frame_start = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._position >= len(self._pending):
            if self._source_done:
                return 0
            self._pending, self._position = self._decompress_next(), 0
        count = min(len(buffer), len(self._pending) - self._position)
        buffer[:count] = self._pending[self._position : self._position + count]
        self._position += count
        return count

    def _decompress_next(self) -> bytes:
        data = self._source.read(self._chunk)
        if not data:
            self._source_done = True
            if not self._decompressor.eof:
                raise EOFError("compressed data ends early (truncated file)")
            return b""
        if self._at_frame_start:
            if self._decompressor.eof:  # the last frame ended exactly at a chunk's end
                self._decompressor = self._new()
            self._start_frame(data)
        out = [self._decompressor.decompress(data)]
        # A member/frame ended inside this chunk: the rest belongs to the next one.
        while self._decompressor.eof and self._decompressor.unused_data:
            rest = self._decompressor.unused_data
            self._decompressor = self._new()
            self._start_frame(rest)
            out.append(self._decompressor.decompress(rest))
        if self._decompressor.eof:
            self._at_frame_start = True
        return b"".join(out)


def iter_lines(stream: IO[bytes], max_line_bytes: int) -> Iterator[tuple[int, int, bytes, int]]:
    """(1-based line number, byte offset, line without its newline cut to max_line_bytes, full length)."""
    offset = 0
    line_no = 0
    while True:
        head = stream.readline(max_line_bytes + 1)
        if not head:
            return
        line_no += 1
        length = len(head)
        complete = head.endswith(b"\n")
        # An over-long line is skipped to its end without being held in memory.
        while not complete and length > max_line_bytes:
            more = stream.readline(1 << 20)
            if not more:
                break
            length += len(more)
            complete = more.endswith(b"\n")
        content = head[:-1] if head.endswith(b"\n") else head
        if content.endswith(b"\r") and complete:
            content = content[:-1]
        yield line_no, offset, content[:max_line_bytes], length - (1 if complete else 0)
        offset += length


def parse_record(
    line: bytes, full_length: int, file: str, line_no: int, offset: int, options: ParseOptions
) -> dict[str, Any]:
    """One input line -> one row of the ingest table (see `INGEST_FIELDS` in thresher.io.ingest)."""
    row: dict[str, Any] = {
        "source": options.source,
        "origin": {"file": file, "line": line_no, "offset": offset},
        "raw_bytes": full_length,
    }

    def quarantine(reason: str, error: str | None = None) -> dict[str, Any]:
        row["q_reason"] = reason
        row["q_error"] = error
        row["q_raw"] = line[: RAW_KEEP_CHARS * 4].decode("utf-8", errors="replace")[:RAW_KEEP_CHARS]
        return row

    max_line_bytes = options.max_text_chars * 4 + 65_536
    if full_length > max_line_bytes:
        return quarantine(TOO_LARGE, f"record of {full_length} bytes exceeds the limit for max_text_chars")
    if not line.strip():
        return quarantine(EMPTY_LINE)
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError as error:
        return quarantine(INVALID_UTF8, f"byte {error.start}: {error.reason}")
    # A byte-order mark opens a file written by some Windows tools, and every part of files concatenated from
    # them: it is not part of the record.
    decoded = decoded.removeprefix("\ufeff")
    try:
        record = orjson.loads(decoded)
    except orjson.JSONDecodeError as error:
        message = str(error)
        reason = INVALID_UNICODE if "surrogate" in message else INVALID_JSON
        return quarantine(reason, message[:500])
    if not isinstance(record, dict):
        return quarantine(NOT_AN_OBJECT, f"line holds a JSON {type(record).__name__}")
    fields = options.fields
    present, text = _lookup(record, fields.text)
    if not present:
        return quarantine(MISSING_TEXT, f"no field {fields.text!r}")
    if text is None:
        return quarantine(NULL_TEXT)
    if not isinstance(text, str):
        return quarantine(TEXT_NOT_STRING, f"{fields.text!r} is a JSON {type(text).__name__}")
    if not text:
        return quarantine(EMPTY_TEXT)
    if not text.strip():
        return quarantine(BLANK_TEXT)
    if len(text) > options.max_text_chars:
        return quarantine(TOO_LARGE, f"{len(text)} characters > max_text_chars {options.max_text_chars}")
    input_id = None
    if fields.id is not None:
        _, raw_id = _lookup(record, fields.id)
        if isinstance(raw_id, float):
            # orjson reads integers past 64 bits as floats; the standard parser keeps every digit.
            _, raw_id = _lookup(json.loads(decoded), fields.id)
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int | type(None)):
            return quarantine(INVALID_ID, f"{fields.id!r} is a JSON {type(raw_id).__name__}")
        input_id = str(raw_id) if raw_id not in (None, "") else None
    url = None
    if fields.url is not None:
        _, raw_url = _lookup(record, fields.url)
        url = raw_url if isinstance(raw_url, str) or raw_url is None else orjson.dumps(raw_url).decode()
    row.update(input_id=input_id, text=text, url=url, meta=_meta(record, fields))
    return row


def _lookup(record: dict[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = record
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _meta(record: dict[str, Any], fields: FieldSpec) -> dict[str, str] | None:
    if fields.meta is not None:
        names = fields.meta
    else:
        mapped = {p.split(".", 1)[0] for p in (fields.id, fields.text, fields.url) if p and "." not in p}
        names = [k for k in record if k not in mapped]
    meta: dict[str, str] = {}
    for name in names:
        present, value = _lookup(record, name)
        if present and value is not None:
            meta[name] = value if isinstance(value, str) else orjson.dumps(value).decode()
    return meta or None
