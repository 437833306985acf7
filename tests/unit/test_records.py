"""The typed run records read and write the on-disk formats unchanged: manifest.json keys and stats columns."""

from __future__ import annotations

import json
from datetime import datetime

from thresher.core.records import Manifest, SegmentRecord, StageStats
from thresher.schema import STATS_SCHEMA

# A manifest.json as runs before the typed records wrote it (keys in their order, one unknown key).
OLD_MANIFEST = {
    "run_id": "20261201T000000Z-abc123",
    "status": "succeeded",
    "created_at": "2026-12-01T00:00:00+00:00",
    "config_path": "/conf/demo.yaml",
    "config": {"run": {"mode": "annotate"}, "stages": {"length": {"min_words": 5}}},
    "input_fingerprint": "abc123",
    "input_files": [{"source": "demo", "format": "jsonl", "files": 1, "bytes": 10, "first_files": ["a.jsonl"]}],
    "versions": {"python": "3.11.7", "thresher": "0.1.0"},
    "table_format": "delta-rs",
    "spark_master": "local[2]",
    "command": ["thresher", "run"],
    "segments": {
        "00_ingest": {"fingerprint": "f0", "wall_seconds": 1.5, "stats_seconds": 0.2},
        "01_length": {
            "fingerprint": "f1",
            "wall_seconds": 2.0,
            "started_at": "2026-12-01T00:00:01+00:00",
            "stage_seconds": {"length": 2.0},
            "stats_seconds": 0.3,
        },
    },
    "totals": {"input_records": 10, "kept": 8, "excluded": 0, "quarantine": 2},
    "input_file_count": 1,
    "tables": {"kept": "/out/kept"},
    "updated_at": "2026-12-01T00:00:05+00:00",
    "written_by_a_newer_version": {"x": 1},
}


def test_an_old_manifest_reads_typed_and_writes_back_with_the_same_keys_and_values():
    manifest = Manifest.from_dict(json.loads(json.dumps(OLD_MANIFEST)))
    assert manifest.mode == "annotate" and manifest.totals["kept"] == 8
    assert manifest.segments["01_length"].stage_seconds == {"length": 2.0}
    assert manifest.segments["00_ingest"].started_at is None  # absent, not made up
    assert json.loads(manifest.to_json()) == OLD_MANIFEST


def test_a_segment_record_writes_only_what_is_known():
    assert SegmentRecord(fingerprint="f").to_dict() == {"fingerprint": "f"}


def test_a_stats_row_round_trips_through_the_table_columns():
    row = {
        "run_id": "r",
        "stage_index": 1,
        "stage": "minhash_dedup",
        "segment": "01_minhash_dedup",
        "mode": "filter",
        "docs_in": 10,
        "docs_out": 7,
        "docs_excluded": 3,
        "docs_flagged": 3,
        "chars_in": 100,
        "chars_out": 70,
        "words_in": 20,
        "words_out": 14,
        "tokens_in": None,
        "tokens_out": None,
        "reason_counts": {"near_duplicate": 3},
        "signals": json.dumps({"signals": {}, "details": {"histogram": {"2": 1}}, "languages": {"counts": {}}}),
        "metrics": {"clusters": 1.0},
        "wall_seconds": 2.0,
        "docs_per_second": 5.0,
        "started_at": datetime(2026, 12, 1, 0, 0, 0),
        "finished_at": datetime(2026, 12, 1, 0, 0, 2),
    }
    stats = StageStats.from_row(row)
    assert stats.details == {"histogram": {"2": 1}} and stats.languages == {"counts": {}}
    assert stats["docs_in"] == 10 and stats.docs_per_second == 5.0
    written = stats.to_row()
    assert list(written) == STATS_SCHEMA.fieldNames()
    assert {k: v for k, v in written.items() if k != "signals"} == {k: v for k, v in row.items() if k != "signals"}
    assert json.loads(written["signals"]) == json.loads(row["signals"])


def test_unknown_time_gives_no_throughput():
    stats = StageStats("r", 0, "ingest", "00_ingest", "filter", 5, 5, 0, 0, 1, 1, 1, 1, wall_seconds=None)
    assert stats.docs_per_second is None and stats.to_row()["wall_seconds"] is None
