"""JSON-lines records -> documents or quarantine rows, one reason per kind of bad record (no Spark)."""

from __future__ import annotations

import gzip
import io

import orjson
import pytest
import zstandard

from thresher.conf import FieldMap
from thresher.io import jsonl
from thresher.io.jsonl import ParseOptions, iter_lines, open_decompressed, parse_record

OPTIONS = ParseOptions(source="test", fields=FieldMap(), max_text_chars=1000)


def _parse(line: bytes, options: ParseOptions = OPTIONS) -> dict:
    return parse_record(line, len(line), "/data/x.jsonl", 7, 120, options)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"id": 1, "text": "unterminated', jsonl.INVALID_JSON),
        (b'{"id": 1, "text": "caf\xe9"}', jsonl.INVALID_UTF8),
        (b'["not", "an", "object"]', jsonl.NOT_AN_OBJECT),
        (b"42", jsonl.NOT_AN_OBJECT),
        (b"", jsonl.EMPTY_LINE),
        (b"   \t", jsonl.EMPTY_LINE),
        (b'{"id": 1, "body": "elsewhere"}', jsonl.MISSING_TEXT),
        (b'{"id": 1, "text": null}', jsonl.NULL_TEXT),
        (b'{"id": 1, "text": 3.5}', jsonl.TEXT_NOT_STRING),
        (b'{"id": 1, "text": ["a"]}', jsonl.TEXT_NOT_STRING),
        (b'{"id": 1, "text": ""}', jsonl.EMPTY_TEXT),
        (b'{"id": 1, "text": " \\n\\t\\u3000 "}', jsonl.BLANK_TEXT),
        (b'{"id": 1, "text": "half \\ud800 a pair"}', jsonl.INVALID_UNICODE),
        (b'{"id": {"nested": 1}, "text": "fine text"}', jsonl.INVALID_ID),
        (b'{"id": true, "text": "fine text"}', jsonl.INVALID_ID),
        (orjson.dumps({"id": 1, "text": "x" * 1001}), jsonl.TOO_LARGE),
    ],
)
def test_each_bad_record_kind_has_its_reason(line, reason):
    row = _parse(line)
    assert row["q_reason"] == reason
    assert row["origin"] == {"file": "/data/x.jsonl", "line": 7, "offset": 120}
    assert "text" not in row


def test_invalid_utf8_keeps_readable_raw_and_position():
    row = _parse(b'{"text": "caf\xe9"}')
    assert row["q_raw"] == '{"text": "caf\ufffd"}'
    assert "byte 13" in row["q_error"]


def test_valid_record_maps_fields_and_meta():
    line = orjson.dumps(
        {
            "id": 12,
            "text": "Hello there",
            "url": "https://a.b/c",
            "lang": "en",
            "score": 0.5,
            "tags": ["x", "y"],
            "gone": None,
        }
    )
    row = _parse(line)
    assert row.get("q_reason") is None
    assert row["input_id"] == "12" and row["text"] == "Hello there" and row["url"] == "https://a.b/c"
    assert row["meta"] == {"lang": "en", "score": "0.5", "tags": '["x","y"]'}


def test_dotted_field_paths_and_explicit_meta():
    options = ParseOptions("s", FieldMap(id="meta.doc", text="content.body", url=None, meta=["lang"]), 1000)
    row = _parse(orjson.dumps({"meta": {"doc": "d1"}, "content": {"body": "words"}, "lang": "fr", "x": 1}), options)
    assert (row["input_id"], row["text"], row["url"], row["meta"]) == ("d1", "words", None, {"lang": "fr"})


def test_empty_id_counts_as_missing():
    assert _parse(b'{"id": "", "text": "t"}')["input_id"] is None


def test_iter_lines_offsets_crlf_and_overlong_lines():
    data = b'{"a": 1}\r\n' + b"x" * 50 + b"\n" + b"\n" + b"last-no-newline"
    lines = list(iter_lines(io.BytesIO(data), max_line_bytes=20))
    assert [(n, off) for n, off, _, _ in lines] == [(1, 0), (2, 10), (3, 61), (4, 62)]
    assert lines[0][2] == b'{"a": 1}'
    assert len(lines[1][2]) == 20 and lines[1][3] == 50  # cut to the limit, full length reported
    assert lines[2][2] == b"" and lines[3][2] == b"last-no-newline"


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_decompression_by_file_name(suffix):
    payload = b'{"text": "a"}\n{"text": "b"}\n'
    if suffix.endswith(".gz"):
        payload = gzip.compress(payload)
    elif suffix.endswith(".zst"):
        payload = zstandard.ZstdCompressor().compress(payload)
    stream = open_decompressed(io.BytesIO(payload), f"file{suffix}")
    assert [line for _, _, line, _ in iter_lines(stream, 1000)] == [b'{"text": "a"}', b'{"text": "b"}']


def test_zstd_frames_without_checksum_are_counted(tmp_path):
    # Issue 12, item 10: a frame without content checksum cannot detect corruption; the reader counts them
    # (also when a frame ends exactly at a read chunk's end) so garbled lines can say where they come from.
    from thresher.io.zstd_frames import zstd_files_without_checksum

    checked = zstandard.ZstdCompressor(write_checksum=True).compress(b'{"text": "a"}\n')
    unchecked = zstandard.ZstdCompressor(write_checksum=False).compress(b'{"text": "b"}\n')
    stream = open_decompressed(io.BytesIO(checked + unchecked + unchecked), "f.jsonl.zst")
    lines = [line for _, _, line, _ in iter_lines(stream, 1000)]
    assert lines == [b'{"text": "a"}', b'{"text": "b"}', b'{"text": "b"}']
    assert jsonl.unchecked_frames(stream) == 2
    chunked = jsonl._Decompressing(
        io.BytesIO(checked + unchecked),
        zstandard.ZstdDecompressor().decompressobj,
        jsonl._zstd_frame_checked,
        len(checked),
    )
    assert io.BufferedReader(chunked).read() == b'{"text": "a"}\n{"text": "b"}\n'
    assert chunked.frames_without_checksum == 1
    assert jsonl.unchecked_frames(open_decompressed(io.BytesIO(checked), "f.jsonl.zst")) == 0
    (tmp_path / "a.jsonl.zst").write_bytes(unchecked)
    (tmp_path / "b.jsonl.zst").write_bytes(checked)
    paths = [str(tmp_path / "a.jsonl.zst"), str(tmp_path / "b.jsonl.zst"), str(tmp_path / "c.jsonl")]
    assert zstd_files_without_checksum(paths) == [paths[0]]
