"""WARC input through the runner: a generated crawl with only `extract`, and conf/cc_warc.yaml on every real
WARC/WET file of ../shared/data/warc (skipped without it). Every record is a document, skipped or quarantined."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from tests.conftest import PROJECT_ROOT, SHARED_DATA
from thresher.conf import load_config
from thresher.demo_warc import generate_demo_warc
from thresher.io.delta import DeltaStore
from thresher.io.warc_write import gzip_member, response_record
from thresher.runner import run_pipeline

pytestmark = pytest.mark.spark
WARC_DIR = SHARED_DATA / "warc"


def _table(spark, path: Path):
    return DeltaStore(spark, "delta-rs").read(str(path))


def test_extract_only_config_on_a_generated_crawl(spark, tmp_path):
    crawl = tmp_path / "crawl.warc.gz"
    pages = generate_demo_warc(crawl, pages=60, seed=3)
    # A page trafilatura needs minutes for: the time limit must stop it inside the Spark task.
    cells = "".join(f"<td><div><p>cell {i} text here</p></div></td>" for i in range(40))
    slow_page = "<html><body>" + ("<table><tr>" + cells + "</tr>") * 300 + "</table>" * 300 + "</body></html>"
    slow = tmp_path / "slow.warc.gz"
    slow.write_bytes(gzip_member(response_record("https://slow.example.com/", slow_page.encode())))
    config = load_config(
        data={
            "run": {"output": str(tmp_path / "out")},
            "input": {"path": [str(crawl), str(slow)]},
            "stages": {"extract": {"timeout_seconds": 2}},
        }
    )
    result = run_pipeline(config, spark)
    extract = next(r for r in result.stats if r["stage"] == "extract")
    assert extract["reason_counts"].get("extraction_timeout") == 1
    totals = result.totals
    ingest = next(r for r in result.stats if r["stage"] == "ingest")
    skipped = {k.removeprefix("skipped."): int(v) for k, v in ingest["metrics"].items() if k.startswith("skipped.")}
    assert totals["input_records"] == totals["kept"] + totals["excluded"] + totals["quarantine"] + totals["skipped"]
    assert totals["skipped"] == sum(skipped.values())
    assert skipped["request"] >= 50 and skipped["non_html"] == pages.get("image", 0)
    assert ingest["reason_counts"] == {"bad_gzip_member": 1, "undecodable_header": 1, "truncated_record": 1}
    quarantine = _table(spark, tmp_path / "out" / "quarantine").collect()
    assert {(Path(r.file).name, r.reason) for r in quarantine} == {
        ("crawl.warc.gz", "bad_gzip_member"),
        ("crawl.warc.gz", "undecodable_header"),
        ("crawl.warc.gz", "truncated_record"),
    }
    assert {r.reason: r.offset for r in quarantine}["truncated_record"] < crawl.stat().st_size
    assert all(r.offset > 0 for r in quarantine)
    kept = _table(spark, tmp_path / "out" / "kept")
    rows = kept.select("doc_id", "url", "text", F.col("meta")["warc_record_id"].alias("record_id")).collect()
    assert rows and all(re.fullmatch(r"<urn:uuid:[0-9a-f-]{36}>", r.record_id) for r in rows)
    assert all(r.doc_id == r.record_id[1:-1] for r in rows)
    assert not any("<p>" in r.text or "<html" in r.text.lower() for r in rows)
    russian = next(r for r in rows if r.url == "https://news.example.ru/city")
    assert "Городской совет" in russian.text  # windows-1251 bytes behind a charset=utf-8 header


def _records_in(path: Path) -> int:
    """WARC records in a file, counted without a WARC parser: record header lines (WARC/1.0, 1.1 and Heritrix's
    0.17) in the decompressed bytes."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        out, rest = [], data
        while rest:
            decompressor = zlib.decompressobj(wbits=31)
            try:
                out.append(decompressor.decompress(rest))
            except zlib.error:
                break
            rest = decompressor.unused_data
            if not decompressor.eof:
                break
        data = b"".join(out)
    return len(re.findall(rb"(?:^|\r\n)WARC/[01]\.[0-9]+\r\n", data))


@pytest.mark.skipif(not WARC_DIR.is_dir(), reason=f"shared WARC samples not found at {WARC_DIR}")
def test_cc_warc_config_on_every_shared_archive(spark, tmp_path):
    files = sorted(p for p in WARC_DIR.rglob("*.warc*") if p.is_file())
    config = load_config(
        PROJECT_ROOT / "conf" / "cc_warc.yaml",
        input_path=str(WARC_DIR / "**" / "*.warc*"),
        output=str(tmp_path / "run"),
    )
    result = run_pipeline(config, spark)
    totals = result.totals
    assert totals["input_records"] == sum(_records_in(p) for p in files)
    assert totals["kept"] + totals["excluded"] + totals["quarantine"] + totals["skipped"] == totals["input_records"]
    assert totals["kept"] > 0
    quarantine = _table(spark, tmp_path / "run" / "quarantine").collect()
    assert [(Path(r.file).name, r.reason, r.offset) for r in quarantine] == [
        ("clipped.warc.gz", "truncated_record", 0)
    ]
    stats = {r["stage"]: r for r in result.stats}
    assert stats["extract"]["docs_in"] == stats["ingest"]["docs_out"]
