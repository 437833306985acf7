"""Ingest through Spark: file kinds, globs, Parquet and Delta inputs, quarantine, ids."""

from __future__ import annotations

import gzip

import orjson
import pytest
import zstandard
from pyspark.sql import functions as F

from thresher.conf import load_config
from thresher.errors import InputError
from thresher.io.delta import DeltaStore
from thresher.io.ingest import documents, ingest, jsonl_splits, quarantined
from thresher.io.inputs import plan_inputs

pytestmark = pytest.mark.spark


def _lines(*records) -> bytes:
    return b"\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in records) + b"\n"


def _ingest(spark, tmp_path, input_section: dict):
    config = load_config(data={"input": input_section, "run": {"output": str(tmp_path / "out")}})
    store = DeltaStore(spark, "delta-rs")
    with ingest(spark, plan_inputs(spark, config.inputs), store) as frame:
        return documents(frame).collect(), quarantined(frame).collect()


def test_plain_gzip_zstd_and_globs(spark, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(_lines({"id": "a1", "text": "alpha"}, {"id": "a2", "text": "beta"}))
    (folder / "b.jsonl.gz").write_bytes(gzip.compress(_lines({"id": "b1", "text": "gamma"})))
    (folder / "c.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(_lines({"text": "no id here"})))
    (folder / "_SUCCESS").write_bytes(b"")
    docs, bad = _ingest(spark, tmp_path, {"path": str(folder)})
    assert bad == []
    by_text = {d.text: d for d in docs}
    assert set(by_text) == {"alpha", "beta", "gamma", "no id here"}
    assert by_text["alpha"].doc_id == "a1" and by_text["gamma"].doc_id == "b1"
    assert len(by_text["no id here"].doc_id) == 32  # hash of file and offset
    assert by_text["beta"].origin.line == 2 and by_text["beta"].origin.file.endswith("a.jsonl")
    assert {d.source for d in docs} == {"in"}
    docs_glob, _ = _ingest(spark, tmp_path, {"path": str(folder / "*.jsonl*"), "source": "web"})
    assert len(docs_glob) == 4 and {d.source for d in docs_glob} == {"web"}


def test_truncated_gzip_keeps_what_was_readable(spark, tmp_path):
    payload = gzip.compress(_lines(*({"id": f"d{i}", "text": f"document {i} " * 50} for i in range(200))))
    path = tmp_path / "broken.jsonl.gz"
    path.write_bytes(payload[: len(payload) // 2])
    docs, bad = _ingest(spark, tmp_path, {"path": str(path)})
    assert 0 < len(docs) < 200
    assert [b.reason for b in bad] == ["unreadable_file"]
    assert bad[0].line == len(docs) + 1
    assert bad[0].error == "EOFError: compressed data ends early (truncated file)"


def test_every_malformed_kind_goes_to_quarantine_with_file_and_line(spark, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        _lines(
            {"id": "ok", "text": "fine"},
            b'{"id": "x", "text": "unterminated',
            b'{"id": "y", "text": "caf\xe9"}',
            b"[1, 2]",
            b"",
            {"id": "z"},
            {"id": "n", "text": None},
            {"id": "i", "text": 7},
            {"id": "e", "text": ""},
            {"id": "w", "text": "  \n "},
            b'{"id": "s", "text": "\\udc00"}',
            {"id": "big", "text": "x" * 101},
            {"id": "ok", "text": "same id again"},
        )
    )
    docs, bad = _ingest(spark, tmp_path, {"path": str(path), "max_text_chars": 100, "duplicate_ids": "quarantine"})
    assert [(d.doc_id, d.text) for d in docs] == [("ok", "fine")]
    reasons = {b.line: b.reason for b in bad}
    assert reasons == {
        2: "invalid_json",
        3: "invalid_utf8",
        4: "not_an_object",
        5: "empty_line",
        6: "missing_text",
        7: "null_text",
        8: "text_not_string",
        9: "empty_text",
        10: "blank_text",
        11: "invalid_unicode",
        12: "too_large",
        13: "duplicate_id",
    }
    assert all(b.file == str(path) and b.source == "mixed" for b in bad)


def test_duplicate_ids_are_renamed_deterministically(spark, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "1.jsonl").write_bytes(_lines({"id": "d", "text": "first"}, {"id": "d", "text": "second"}))
    (tmp_path / "in" / "2.jsonl").write_bytes(_lines({"id": "d", "text": "third"}))
    docs, bad = _ingest(spark, tmp_path, {"path": str(tmp_path / "in")})
    ids = {d.text: d.doc_id for d in docs}
    assert bad == [] and ids["first"] == "d"
    assert ids["second"].startswith("d~") and ids["third"].startswith("d~") and ids["second"] != ids["third"]
    again, _ = _ingest(spark, tmp_path, {"path": str(tmp_path / "in")})
    assert {d.text: d.doc_id for d in again} == ids


def test_parquet_and_delta_inputs(spark, tmp_path):
    rows = [("p1", "parquet text", "http://a", "en"), ("p2", "   ", None, "fr"), (None, "no id", None, None)]
    frame = spark.createDataFrame(rows, "id string, text string, url string, lang string")
    frame.coalesce(1).write.parquet(str(tmp_path / "pq"))
    docs, bad = _ingest(spark, tmp_path, {"path": str(tmp_path / "pq")})
    assert {d.doc_id: (d.text, d.url, d.meta) for d in docs if d.doc_id == "p1"} == {
        "p1": ("parquet text", "http://a", {"lang": "en"})
    }
    assert [b.reason for b in bad] == ["blank_text"] and '"id":"p2"' in bad[0].raw
    assert len(docs) == 2
    DeltaStore(spark, "delta-rs").write(frame.withColumnRenamed("text", "body"), str(tmp_path / "dt"))
    docs, bad = _ingest(spark, tmp_path, {"path": str(tmp_path / "dt"), "fields": {"text": "body"}})
    assert len(docs) == 2 and [b.reason for b in bad] == ["blank_text"]
    with pytest.raises(InputError, match="no column 'text'"):
        _ingest(spark, tmp_path, {"path": str(tmp_path / "dt")})


def test_unusable_inputs_fail_clearly(spark, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        _ingest(spark, tmp_path, {"path": str(tmp_path / "missing.jsonl")})
    with pytest.raises(InputError, match="matches nothing"):
        _ingest(spark, tmp_path, {"path": str(tmp_path / "*.jsonl")})
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="cannot tell the format"):
        _ingest(spark, tmp_path, {"path": str(tmp_path / "notes.txt")})
    pq = tmp_path / "typed"
    spark.range(3).withColumn("text", F.col("id")).write.parquet(str(pq))
    with pytest.raises(InputError, match="column 'text' is bigint, not string"):
        _ingest(spark, tmp_path, {"path": str(pq)})


def test_byte_range_splits_give_the_rows_of_one_task_per_file(spark, tmp_path):
    # Records of every kind, one of them longer than a split; a split of 1 KiB cuts the file into ~9 tasks.
    records = [{"id": f"d{i}", "text": f"document {i} " * (3 if i % 7 else 60)} for i in range(60)]
    records[5] = b'{"id": "d5", "text": "caf\xe9"}'
    records[9] = b"not json"
    records[13] = b'\xef\xbb\xbf{"text": "no id, after a byte-order mark"}'
    records[20] = b'{"id": 123456789012345678901234567890, "text": "an id past 64 bits"}'
    records[21] = {"id": "d0", "text": "a repeated id"}
    path = tmp_path / "split.jsonl"
    path.write_bytes(_lines(*records)[:-1])  # no newline after the last record
    assert path.stat().st_size > 8 * 1024
    config = load_config(data={"input": {"path": str(path), "split_mb": 1 / 1024}})
    assert len(jsonl_splits(spark, plan_inputs(spark, config.inputs)[0])) == 9
    whole = _ingest(spark, tmp_path, {"path": str(path)})
    split = _ingest(spark, tmp_path, {"path": str(path), "split_mb": 1 / 1024})
    for rows_whole, rows_split in zip(whole, split, strict=True):
        assert sorted(map(repr, rows_split)) == sorted(map(repr, rows_whole))
    docs, bad = split
    assert len(docs) + len(bad) == 60
    assert sorted([d.origin.line for d in docs] + [b.line for b in bad]) == list(range(1, 61))
    assert {b.reason for b in bad} == {"invalid_utf8", "invalid_json"}
    assert "123456789012345678901234567890" in {d.doc_id for d in docs}
