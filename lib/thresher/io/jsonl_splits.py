"""Fast JSON-lines ingest on executors: files cut into byte-range splits, lines read in blocks, parsed into Arrow
batches column by column (Spark-free).

Splits. A plain file larger than the split size is cut into byte ranges `[start, end)`; a split owns the lines that
START inside its range (a line starting before `end` is read to its end even past `end`), so every line is read
by exactly one split. A compressed file (.gz, .zst) is one split: its bytes cannot be entered in the middle.
Line numbers of a split that starts inside a file come from a count of the newlines before it
(`count_newlines`, a cheap pass run only for files that have several splits).

Parsing. `parse_record` (thresher.io.jsonl) stays the one definition of what a record becomes. The fast path
here takes only a line that orjson parses from bytes into an object whose text is a non-blank string within the
limit and whose id is a string, integer or null; every other line (invalid UTF-8 or JSON, byte-order mark,
64-bit-plus ids, missing or wrong-typed text, too large, ...) goes to `parse_record` itself, so the rows are the
same as the line-by-line reader's for every input.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson
import pyarrow as pa

from thresher.io.jsonl import ParseOptions, _lookup, _meta, parse_record

# Bytes read at a time from a file or decompressed stream.
BLOCK_BYTES = 1 << 22
# Rows per Arrow batch handed back to Spark.
ROWS_PER_BATCH = 2048
DEFAULT_SPLIT_MB = 128
_COMPRESSED = (".gz", ".zst", ".zstd")


@dataclass(frozen=True)
class Split:
    """Bytes `[start, end)` of one file (end None: the whole file), whose first line has number `first_line`."""

    path: str
    start: int
    end: int | None
    first_line: int = 1


def is_splittable(path: str) -> bool:
    return not path.lower().endswith(_COMPRESSED)


def byte_ranges(path: str, size: int, split_bytes: int) -> list[Split]:
    """The splits of one file, before line numbers are known (first_line 1 for all)."""
    if not is_splittable(path) or size <= split_bytes:
        return [Split(path, 0, None)]
    starts = range(0, size, split_bytes)
    return [Split(path, start, min(start + split_bytes, size)) for start in starts]


def newline_window(split: Split) -> tuple[int, int]:
    """The bytes whose newlines count towards the line numbers of the splits after this one.

    The lines that start before position p number 1 + (newlines in [0, p - 1)) for 0 < p <= size; the windows
    [max(start - 1, 0), end - 1) of consecutive splits tile [0, p - 1) exactly.
    """
    assert split.end is not None
    return max(split.start - 1, 0), split.end - 1


def count_newlines(path: str, start: int, end: int) -> int:
    """Newline bytes in `[start, end)` of a file."""
    from thresher.io import fs

    filesystem, name = fs.filesystem(path)
    count = 0
    with filesystem.open_input_file(name) as handle:
        handle.seek(start)
        left = end - start
        while left > 0:
            data = handle.read(min(BLOCK_BYTES, left))
            if not data:
                break
            count += data.count(b"\n")
            left -= len(data)
    return count


def number_lines(splits: list[Split], newline_counts: list[int]) -> list[Split]:
    """Splits of one file in order, with the newline count of each one's window -> with their first lines."""
    numbered, before = [], 0
    for index, split in enumerate(splits):
        first = 1 if index == 0 else 2 + before
        numbered.append(Split(split.path, split.start, split.end, first))
        before += newline_counts[index]
    return numbered


# -- lines -------------------------------------------------------------------------------------------------------


def iter_block_lines(
    stream: IO[bytes], max_line_bytes: int, offset: int = 0, stop: int | None = None, line_no: int = 0
) -> Iterator[tuple[int, int, bytes, int]]:
    """What `thresher.io.jsonl.iter_lines` yields (line number, byte offset, content cut to max_line_bytes, full
    length without the newline), reading `stream` in blocks; `offset` is the stream's position in its file,
    `line_no` the number of the line before the first; lines that start at or after `stop` are not read."""
    # A decompressing stream hands over what it has (read1) so that the records before damage are kept.
    read = getattr(stream, "read1", stream.read)
    buffer = b""
    position = 0  # start of the current line in buffer; buffer[0] is at `offset` in the file
    while True:
        if stop is not None and offset + position >= stop:
            return
        newline = buffer.find(b"\n", position)
        if newline >= 0:
            full = newline - position
            line_no += 1
            if full <= max_line_bytes:
                content = buffer[position:newline]
                if content.endswith(b"\r"):
                    content = content[:-1]
            else:
                content = buffer[position : position + max_line_bytes]
            yield line_no, offset + position, content, full
            position = newline + 1
            continue
        if len(buffer) - position > max_line_bytes:
            # An over-long line is skipped to its end without being held in memory.
            head = buffer[position : position + max_line_bytes]
            start = offset + position
            full, complete = len(buffer) - position, False
            while not complete:
                data = read(BLOCK_BYTES)
                if not data:
                    break
                newline = data.find(b"\n")
                complete = newline >= 0
                full += newline if complete else len(data)
            line_no += 1
            yield line_no, start, head, full
            if not complete:
                return
            offset, buffer, position = start + full + 1, data[newline + 1 :], 0
            continue
        data = read(BLOCK_BYTES)
        if not data:
            if position < len(buffer):
                line_no += 1
                yield line_no, offset + position, buffer[position:], len(buffer) - position
            return
        offset += position
        buffer = buffer[position:] + data if position < len(buffer) else data
        position = 0


def skip_to_line_start(handle: IO[bytes], start: int) -> int:
    """Position `handle` at the first line that starts at or after `start` (a line starts at 0 or after a
    newline); returns that position."""
    if start == 0:
        handle.seek(0)
        return 0
    handle.seek(start - 1)
    position = start - 1
    while True:
        data = handle.read(BLOCK_BYTES)
        if not data:
            return position
        newline = data.find(b"\n")
        if newline >= 0:
            position += newline + 1
            handle.seek(position)
            return position
        position += len(data)


# -- records -> Arrow ----------------------------------------------------------------------------------------------


class RecordColumns:
    """Rows of the ingest record table (thresher.io.ingest.RECORD_SCHEMA), gathered column by column."""

    def __init__(self, schema: pa.Schema, path: str, source: str, dup_policy: str) -> None:
        self.schema = schema
        self.path, self.source, self.dup_policy = path, source, dup_policy
        self.clear()

    def clear(self) -> None:
        self.input_id: list[str | None] = []
        self.text: list[str | None] = []
        self.url: list[str | None] = []
        self.meta: list[dict[str, str] | None] = []
        self.line: list[int | None] = []
        self.offset: list[int | None] = []
        self.raw_bytes: list[int | None] = []
        self.q_reason: list[str | None] = []
        self.q_error: list[str | None] = []
        self.q_raw: list[str | None] = []

    def __len__(self) -> int:
        return len(self.text)

    def add_document(
        self, line: int, offset: int, raw_bytes: int, input_id: str | None, text: str, url: str | None, meta: Any
    ) -> None:
        self.input_id.append(input_id)
        self.text.append(text)
        self.url.append(url)
        self.meta.append(meta)
        self.line.append(line)
        self.offset.append(offset)
        self.raw_bytes.append(raw_bytes)
        self.q_reason.append(None)
        self.q_error.append(None)
        self.q_raw.append(None)

    def add_row(self, row: dict[str, Any]) -> None:
        """A row as `parse_record` makes it (its source and file are this split's)."""
        origin = row["origin"]
        self.input_id.append(row.get("input_id"))
        self.text.append(row.get("text"))
        self.url.append(row.get("url"))
        self.meta.append(row.get("meta"))
        self.line.append(origin.get("line"))
        self.offset.append(origin.get("offset"))
        self.raw_bytes.append(row.get("raw_bytes"))
        self.q_reason.append(row.get("q_reason"))
        self.q_error.append(row.get("q_error"))
        self.q_raw.append(row.get("q_raw"))

    def batch(self) -> pa.RecordBatch:
        count = len(self)
        schema = self.schema
        origin_type = schema.field("origin").type
        origin = pa.StructArray.from_arrays(
            [
                pa.array([self.path] * count, pa.string()),
                pa.array(self.line, pa.int64()),
                pa.array(self.offset, pa.int64()),
            ],
            fields=list(origin_type),
        )
        columns = {
            "input_id": pa.array(self.input_id, pa.string()),
            "text": pa.array(self.text, pa.string()),
            "url": pa.array(self.url, pa.string()),
            "source": pa.array([self.source] * count, pa.string()),
            "meta": pa.array(self.meta, schema.field("meta").type),
            "origin": origin,
            "raw_bytes": pa.array(self.raw_bytes, pa.int64()),
            "q_reason": pa.array(self.q_reason, pa.string()),
            "q_error": pa.array(self.q_error, pa.string()),
            "q_raw": pa.array(self.q_raw, pa.string()),
            "dup_policy": pa.array([self.dup_policy] * count, pa.string()),
        }
        self.clear()
        return pa.RecordBatch.from_arrays([columns[name] for name in schema.names], schema=schema)


def _other_fields(record: dict[str, Any], fields: Any) -> dict[str, str] | None:
    """`_meta` of thresher.io.jsonl without `input.fields.meta`: the record's other top-level fields."""
    mapped = {p for p in (fields.id, fields.text, fields.url) if p and "." not in p}
    meta: dict[str, str] = {}
    for name, value in record.items():
        if name in mapped:
            continue
        if "." in name:
            # _meta looks a name up as a path: "a.b" is the field b inside a.
            value = _lookup(record, name)[1]
        if value is not None:
            meta[name] = value if type(value) is str else orjson.dumps(value).decode()
    return meta or None


def add_line(
    columns: RecordColumns, line: bytes, full_length: int, line_no: int, offset: int, options: ParseOptions
) -> None:
    """One input line -> one row: the common valid record here, anything else through `parse_record`."""
    fields = options.fields
    max_chars = options.max_text_chars
    if full_length <= max_chars * 4 + 65_536:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            record = None
        if type(record) is dict:
            text = record.get(fields.text) if "." not in fields.text else _lookup(record, fields.text)[1]
            if type(text) is str and text and len(text) <= max_chars and not text.isspace():
                raw_id: Any = None
                if fields.id is not None:
                    raw_id = record.get(fields.id) if "." not in fields.id else _lookup(record, fields.id)[1]
                kind = type(raw_id)
                if kind is str or kind is int or raw_id is None:
                    url = None
                    if fields.url is not None:
                        _, raw_url = _lookup(record, fields.url)
                        url = (
                            raw_url if isinstance(raw_url, str) or raw_url is None else orjson.dumps(raw_url).decode()
                        )
                    input_id = str(raw_id) if raw_id not in (None, "") else None
                    meta = _meta(record, fields) if fields.meta is not None else _other_fields(record, fields)
                    columns.add_document(line_no, offset, full_length, input_id, text, url, meta)
                    return
    columns.add_row(parse_record(line, full_length, columns.path, line_no, offset, options))


# -- one split ---------------------------------------------------------------------------------------------------


def read_split(
    split: Split, options: ParseOptions, columns: RecordColumns, rows_per_batch: int = ROWS_PER_BATCH
) -> Iterator[pa.RecordBatch]:
    """The rows of the lines a split owns, in Arrow batches; a file that cannot be read (or a compressed one that
    ends early or is corrupt) ends with one `unreadable_file` row after the records read before the damage."""
    import zstandard

    from thresher.io import fs
    from thresher.io.jsonl import UNCHECKED_FRAME_NOTE, UNREADABLE_FILE, open_decompressed, unchecked_frames

    max_line_bytes = options.max_text_chars * 4 + 65_536
    line_no, next_offset = split.first_line - 1, split.start
    try:
        filesystem, name = fs.filesystem(split.path)
        if split.end is None:
            with filesystem.open_input_stream(name, compression=None) as raw_stream:
                stream = open_decompressed(raw_stream, split.path)
                for line_no, offset, line, length in iter_block_lines(stream, max_line_bytes):
                    add_line(columns, line, length, line_no, offset, options)
                    if columns.q_reason[-1] and unchecked_frames(stream):
                        columns.q_error[-1] = "; ".join(filter(None, [columns.q_error[-1], UNCHECKED_FRAME_NOTE]))
                    next_offset = offset + length + 1
                    if len(columns) >= rows_per_batch:
                        yield columns.batch()
        else:
            with filesystem.open_input_file(name) as handle:
                begin = skip_to_line_start(handle, split.start)
                next_offset = begin
                lines = iter_block_lines(handle, max_line_bytes, begin, split.end, line_no)
                for line_no, offset, line, length in lines:
                    add_line(columns, line, length, line_no, offset, options)
                    next_offset = offset + length + 1
                    if len(columns) >= rows_per_batch:
                        yield columns.batch()
    except (OSError, EOFError, ValueError, zstandard.ZstdError) as error:
        columns.add_row(
            {
                "origin": {"line": line_no + 1, "offset": next_offset},
                "q_reason": UNREADABLE_FILE,
                "q_error": f"{type(error).__name__}: {error}"[:1000],
            }
        )
    if len(columns):
        yield columns.batch()
