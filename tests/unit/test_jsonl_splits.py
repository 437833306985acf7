"""Byte-range splits and the fast block reader give the same rows as the line-by-line reader (no Spark)."""

from __future__ import annotations

import gzip
import io
import random
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
import zstandard

from thresher.arrow_types import arrow_schema
from thresher.conf import FieldMap
from thresher.io.ingest import RECORD_SCHEMA
from thresher.io.jsonl import ParseOptions, iter_lines, open_decompressed, parse_record
from thresher.io.jsonl_splits import (
    RecordColumns,
    Split,
    byte_ranges,
    count_newlines,
    iter_block_lines,
    newline_window,
    number_lines,
    read_split,
)

MAX_CHARS = 200
OPTIONS = ParseOptions(source="test", fields=FieldMap(url="url"), max_text_chars=MAX_CHARS)
MAX_LINE = MAX_CHARS * 4 + 65_536

# Every kind of line the reader must keep apart: valid records of each id type, each quarantine reason, CRLF,
# a byte-order mark, ids past 64 bits, an over-long line, blank lines.
ODD_LINES = [
    b'{"id": 1, "text": "unterminated',
    b'{"id": 1, "text": "caf\xe9"}',
    b'["not", "an", "object"]',
    b"42",
    b"",
    b"   \t",
    b'{"id": 1, "body": "elsewhere"}',
    b'{"id": 1, "text": null}',
    b'{"id": 1, "text": 3.5}',
    b'{"id": 1, "text": ""}',
    b'{"id": 1, "text": " \\n\\t\\u3000 "}',
    b'{"id": 1, "text": "half \\ud800 a pair"}',
    b'{"id": {"nested": 1}, "text": "fine text"}',
    b'{"id": true, "text": "fine text"}',
    b'{"id": 12345678901234567890123, "text": "big id kept exactly"}',
    b'{"id": 2.5, "text": "float id"}',
    b'{"id": "", "text": "empty id", "url": {"host": "x"}, "lang": "en", "score": 0.5, "tags": ["a"]}',
    b'\xef\xbb\xbf{"id": "bom", "text": "after a byte-order mark"}',
    b'{"id": "crlf", "text": "windows line"}\r',
    b'{"id": 7, "text": "' + b"x" * (MAX_CHARS + 1) + b'"}',
    b'{"id": 8, "text": "' + b"y" * (MAX_LINE + 10) + b'"}',
    b'{"id": null, "text": "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87", "url": null, "meta": {"k": [1, 2]}}',
]


def _corpus(seed: int, lines: int = 400) -> bytes:
    rng = random.Random(seed)
    out = []
    for number in range(lines):
        if rng.random() < 0.15:
            out.append(rng.choice(ODD_LINES))
        else:
            words = " ".join(rng.choice(["alpha", "beta", "gamma", "δέλτα", r"\n", r"e\"q"]) for _ in range(20))
            out.append(b'{"id": "d%d", "text": "%s", "url": "u%d"}' % (number, words.encode(), number))
    body = b"\n".join(out)
    return body if rng.random() < 0.5 else body + b"\n"


def _reference_rows(data: bytes, path: str) -> list[dict]:
    """The rows the line-by-line reader gives (iter_lines + parse_record), as Arrow would carry them."""
    rows = []
    for line_no, offset, line, length in iter_lines(io.BufferedReader(io.BytesIO(data)), MAX_LINE):
        row = parse_record(line, length, path, line_no, offset, OPTIONS)
        rows.append(_normal(row, path))
    return rows


def _normal(row: dict, path: str) -> dict:
    meta = row.get("meta")
    return {
        "input_id": row.get("input_id"),
        "text": row.get("text"),
        "url": row.get("url"),
        "source": "test",
        "meta": sorted(meta.items()) if meta else None,
        "origin": {"file": path, "line": row["origin"]["line"], "offset": row["origin"]["offset"]},
        "raw_bytes": row.get("raw_bytes"),
        "q_reason": row.get("q_reason"),
        "q_error": row.get("q_error"),
        "q_raw": row.get("q_raw"),
        "dup_policy": "rename",
    }


def _split_rows(path: Path, splits: list[Split]) -> list[dict]:
    schema = arrow_schema(RECORD_SCHEMA)
    rows = []
    for split in splits:
        columns = RecordColumns(schema, str(path), "test", "rename")
        for batch in read_split(split, OPTIONS, columns, rows_per_batch=37):
            for row in pa.Table.from_batches([batch]).to_pylist():
                rows.append({**row, "meta": sorted(row["meta"]) if row["meta"] else None})
    return rows


def _numbered_splits(path: Path, split_bytes: int) -> list[Split]:
    splits = byte_ranges(str(path), path.stat().st_size, split_bytes)
    if len(splits) == 1:
        return splits
    return number_lines(splits, [count_newlines(str(path), *newline_window(s)) for s in splits])


@pytest.mark.parametrize("seed", range(3))
def test_splits_read_every_line_once_with_the_rows_of_the_line_reader(tmp_path, seed):
    data = _corpus(seed)
    path = tmp_path / "c.jsonl"
    path.write_bytes(data)
    expected = _reference_rows(data, str(path))
    assert len(expected) == data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    # Split sizes that cut inside lines, exactly at newlines, inside the over-long line, and one byte each.
    for split_bytes in (2999, 65_536, len(data) // 3, len(data)):
        splits = _numbered_splits(path, split_bytes)
        assert _split_rows(path, splits) == expected, split_bytes


def test_block_lines_match_iter_lines_at_every_block_size(monkeypatch):
    data = _corpus(11, 120)
    expected = list(iter_lines(io.BufferedReader(io.BytesIO(data)), MAX_LINE))
    for block in (1, 3, 64, 1 << 22):
        monkeypatch.setattr("thresher.io.jsonl_splits.BLOCK_BYTES", block)
        assert list(iter_block_lines(io.BytesIO(data), MAX_LINE)) == expected, block


def test_tiny_splits_down_to_one_byte(tmp_path):
    data = b'{"id": 1, "text": "a"}\n\n{"id": 2, "text": "bc"}\r\nnot json\n{"id": 3, "text": "d"}'
    path = tmp_path / "t.jsonl"
    path.write_bytes(data)
    expected = _reference_rows(data, str(path))
    for split_bytes in range(1, len(data) + 1):
        assert _split_rows(path, _numbered_splits(path, split_bytes)) == expected, split_bytes


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_compressed_multi_member_files_are_one_split_with_every_record(tmp_path, suffix):
    first, second = _corpus(3, 50), _corpus(4, 50)
    whole = first + (b"" if first.endswith(b"\n") else b"\n") + second
    if suffix == ".gz":
        packed = gzip.compress(first + (b"" if first.endswith(b"\n") else b"\n")) + gzip.compress(second)
    else:
        # With checksums: a quarantined line of a frame without one carries a note (test_jsonl.py covers it).
        packer = zstandard.ZstdCompressor(write_checksum=True)
        packed = packer.compress(first + (b"" if first.endswith(b"\n") else b"\n")) + packer.compress(second)
    path = tmp_path / f"c.jsonl{suffix}"
    path.write_bytes(packed)
    splits = byte_ranges(str(path), len(packed), 16)
    assert splits == [Split(str(path), 0, None)]
    assert _split_rows(path, splits) == _reference_rows(whole, str(path))
    assert open_decompressed(io.BytesIO(packed), path.name).read() == whole


def test_truncated_compressed_file_ends_with_one_unreadable_row(tmp_path):
    data = b"".join(orjson.dumps({"id": i, "text": f"document {i} " * 12}) + b"\n" for i in range(3000))
    packed = gzip.compress(data)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    rows = _split_rows(path, [Split(str(path), 0, None)])
    assert rows[-1]["q_reason"] == "unreadable_file" and "EOFError" in rows[-1]["q_error"]
    documents = rows[:-1]
    assert documents and all(r["q_reason"] is None for r in documents)
    assert [r["origin"]["line"] for r in documents] == list(range(1, len(documents) + 1))
    assert rows[-1]["origin"]["line"] == len(documents) + 1
