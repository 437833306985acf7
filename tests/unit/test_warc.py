"""WARC/WET reading (generated archives, always) and on the real Common Crawl samples (skipped without them)."""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA
from thresher.io.warc import (
    BAD_GZIP_MEMBER,
    TRUNCATED_RECORD,
    UNDECODABLE_HEADER,
    WarcOptions,
    decode_html,
    read_all,
    rows_of_bytes,
)
from thresher.io.warc_write import (
    conversion_record,
    gzip_member,
    metadata_record,
    request_record,
    response_record,
    warcinfo_record,
)
from thresher.stages.extract import Extract, ExtractParams
from thresher.stages.fused import run_row_stages
from thresher.text.html_extract import EXTRACTION_TIMEOUT, ExtractOptions, extract_main_text

OPTIONS = WarcOptions("test")
WARC_DIR = SHARED_DATA / "warc"
ARTICLE = (
    "<html><head><title>Rivers</title></head><body><nav><a href='/'>Home</a> | <a href='/about'>About</a></nav>"
    "<article><h1>Rivers of the north</h1>"
    + "".join(
        f"<p>The river number {i} flows slowly through the valley and feeds the wide lake below the hills, "
        f"where fishermen have worked for many generations.</p>"
        for i in range(8)
    )
    + "</article><footer>Copyright 2024 Example Inc. All rights reserved.</footer></body></html>"
)


def _kinds(rows: list[dict]) -> collections.Counter:
    return collections.Counter(r.get("skipped") or r.get("q_reason") or "document" for r in rows)


def test_records_become_documents_skipped_or_quarantined() -> None:
    url = "https://example.org/rivers"
    records = [
        warcinfo_record("x.warc.gz"),
        request_record(url),
        response_record(url, ARTICLE.encode()),
        metadata_record(url),
        response_record("https://example.org/logo.png", b"\x89PNG....", content_type="image/png"),
        response_record("https://example.org/old", b"<html>moved</html>", status=301),
        response_record("https://example.org/missing", b"<html>gone</html>", status=404),
        conversion_record("https://example.org/wet", "Plain text from a WET file.\nSecond line."),
    ]
    rows = rows_of_bytes(b"".join(gzip_member(r) for r in records), "x.warc.gz", OPTIONS)
    assert len(rows) == len(records)
    assert _kinds(rows) == {
        "warcinfo": 1,
        "request": 1,
        "metadata": 1,
        "document": 2,
        "non_html": 1,
        "http_3xx": 1,
        "http_4xx": 1,
    }
    page = next(r for r in rows if r.get("url") == url)
    header_id = page["meta"]["warc_record_id"]
    assert header_id.startswith("<urn:uuid:") and header_id.endswith(">")
    assert page["input_id"] == header_id[1:-1]
    assert page["meta"]["http_status"] == "200"
    assert page["meta"]["charset"] == "utf-8"
    assert page["meta"]["content_type"] == "text/html; charset=utf-8"
    assert page["meta"]["payload_digest"].startswith("sha1:")
    assert page["meta"]["warc_date"] == "2024-05-20T10:00:00Z"
    assert page["text"] == ARTICLE
    wet = next(r for r in rows if r.get("url") == "https://example.org/wet")
    assert wet["text"] == "Plain text from a WET file.\nSecond line."
    assert wet["meta"]["warc_type"] == "conversion"
    offsets = [r["origin"]["offset"] for r in rows]
    assert offsets == sorted(offsets) and offsets[0] == 0


def test_bad_gzip_member_is_quarantined_with_its_offset_and_reading_resumes() -> None:
    members = [gzip_member(response_record(f"https://example.org/{i}", ARTICLE.encode())) for i in range(3)]
    damaged = bytearray(members[1])
    damaged[30:60] = b"\x00" * 30
    data = members[0] + bytes(damaged) + members[2]
    rows = rows_of_bytes(data, "x.warc.gz", OPTIONS)
    assert [(r["origin"]["offset"], r.get("q_reason")) for r in rows] == [
        (0, None),
        (len(members[0]), BAD_GZIP_MEMBER),
        (len(members[0]) + len(members[1]), None),
    ]
    assert rows[2]["url"] == "https://example.org/2"


@pytest.mark.parametrize("cut", [15, 200, 400])
def test_truncated_last_record_is_quarantined(cut: int) -> None:
    members = [gzip_member(response_record(f"https://example.org/{i}", ARTICLE.encode())) for i in range(2)]
    data = members[0] + members[1][:-cut]
    rows = rows_of_bytes(data, "x.warc.gz", OPTIONS)
    assert [r.get("q_reason") for r in rows] == [None, TRUNCATED_RECORD]
    assert rows[1]["origin"] == {"file": "x.warc.gz", "line": None, "offset": len(members[0])}


def test_truncated_plain_file() -> None:
    records = [response_record(f"https://example.org/{i}", ARTICLE.encode()) for i in range(2)]
    rows = rows_of_bytes(records[0] + records[1][:300], "x.warc", OPTIONS)
    assert [r.get("q_reason") for r in rows] == [None, TRUNCATED_RECORD]


def test_undecodable_header_is_quarantined() -> None:
    bad = response_record("https://example.org/placeholder", ARTICLE.encode()).replace(b"placeholder", b"\xff\xfe")
    good = response_record("https://e.org/ok", b"<p>ok</p>")
    rows = rows_of_bytes(gzip_member(bad) + gzip_member(good), "x.warc.gz", OPTIONS)
    assert [r.get("q_reason") for r in rows] == [UNDECODABLE_HEADER, None]


def test_wrong_charset_header_is_detected() -> None:
    russian = (
        "<html><body><p>" + "Привет, мир! Это страница на русском языке о реках и озёрах. " * 20 + "</p></body></html>"
    )
    body = russian.encode("cp1251")
    # The server claims UTF-8; the bytes are windows-1251.
    rows = rows_of_bytes(
        response_record("https://example.ru/", body, content_type="text/html; charset=utf-8"), "x.warc", OPTIONS
    )
    assert rows[0]["text"] == russian
    assert rows[0]["meta"]["charset"] == "cp1251"
    # Claims latin-1, is UTF-8.
    text, charset = decode_html("Grüße aus München".encode(), "iso-8859-1")
    assert (text, charset) == ("Grüße aus München", "utf-8")


def test_extract_stage_replaces_html_and_passes_wet_text() -> None:
    docs = [
        {"text": ARTICLE, "meta": {"warc_type": "response"}},
        {"text": "WET text stays.", "meta": {"warc_type": "conversion"}},
        {"text": "<html><body><script>var x = 1;</script></body></html>", "meta": {"warc_type": "response"}},
    ]
    for extractor in ("trafilatura", "resiliparse"):
        out = run_row_stages([Extract(ExtractParams(extractor=extractor))], docs)
        assert "river number 3 flows slowly" in out[0]["text"]
        assert "All rights reserved" not in out[0]["text"] and "<p>" not in out[0]["text"]
        assert out[0]["extract"]["keep"] and out[0]["extract"]["extracted"]
        assert out[1]["text"] == "WET text stays." and out[1]["extract"]["extracted"] is False
        assert out[2]["extract"]["reason"] == "empty_extraction"


def test_pathological_page_times_out_without_stalling() -> None:
    # Deeply nested tables with many cells: trafilatura needs seconds; the limit stops it.
    cells = "".join(f"<td><div><p>cell {i} text here</p></div></td>" for i in range(40))
    html = "<html><body>" + ("<table><tr>" + cells + "</tr>") * 300 + "</table>" * 300 + "</body></html>"
    started = time.perf_counter()
    result = extract_main_text(html, ExtractOptions(timeout_seconds=0.2))
    elapsed = time.perf_counter() - started
    assert result.reason == EXTRACTION_TIMEOUT
    assert elapsed < 2.0
    # The next page extracts normally (the timer is reset).
    assert extract_main_text(ARTICLE, ExtractOptions()).reason is None


def _shared_warcs() -> list[Path]:
    return sorted(p for p in WARC_DIR.rglob("*") if p.name.endswith((".warc.gz", ".warc", ".wet.gz")))


@pytest.mark.skipif(not WARC_DIR.is_dir(), reason=f"shared WARC samples not found at {WARC_DIR}")
def test_real_archives_every_record_accounted_for() -> None:
    by_file = {p.relative_to(WARC_DIR).as_posix(): _kinds(read_all(str(p), OPTIONS)) for p in _shared_warcs()}
    assert by_file["resiliparse/warcfile.warc.gz"] == {"warcinfo": 1, "request": 17, "document": 16, "metadata": 16}
    assert by_file["resiliparse/clipped.warc.gz"] == {TRUNCATED_RECORD: 1}
    assert by_file["warcio/example.warc.gz"]["revisit"] == 1
    assert by_file["warcio/example-iana.org-chunked.warc"]["document"] == 1
    assert by_file["trafilatura_eval/trafilatura_eval_524.warc.gz"]["document"] == 524
    assert by_file["whirlwind/whirlwind.warc.wet.gz"]["document"] == 1
    assert by_file["pyiterable/sample-infoculture.ru.warc.gz"]["http_3xx"] == 5
    # One row per record: offsets strictly increase within a file.
    for path in _shared_warcs():
        offsets = [r["origin"]["offset"] for r in read_all(str(path), OPTIONS)]
        assert offsets == sorted(set(offsets)), path


@pytest.mark.skipif(not WARC_DIR.is_dir(), reason=f"shared WARC samples not found at {WARC_DIR}")
def test_chunked_transfer_is_decoded() -> None:
    rows = read_all(str(WARC_DIR / "warcio" / "example-iana.org-chunked.warc"), OPTIONS)
    page = next(r for r in rows if r.get("text"))
    assert page["text"].startswith("<!doctype html>")


def test_auto_format_from_file_names() -> None:
    from thresher.io.inputs import _default_source, _kind

    assert _kind("/x/CC-MAIN-1.warc.gz") == "warc"
    assert _kind("/x/a.warc") == "warc"
    assert _kind("/x/CC-MAIN-1.warc.wet.gz") == "wet"
    assert _kind("/x/CC-MAIN-1.warc.wat.gz") is None
    assert _default_source("/data/CC-MAIN-1.warc.wet.gz") == "CC-MAIN-1"


def test_demo_crawl_is_deterministic(tmp_path: Path) -> None:
    from thresher.demo_warc import generate_demo_warc

    first, second = tmp_path / "a" / "crawl.warc.gz", tmp_path / "b" / "crawl.warc.gz"
    counts = generate_demo_warc(first, pages=40, seed=5)
    assert generate_demo_warc(second, pages=40, seed=5) == counts
    assert first.read_bytes() == second.read_bytes()
    rows = read_all(str(first), OPTIONS)
    kinds = _kinds(rows)
    assert kinds["bad_gzip_member"] == kinds["undecodable_header"] == kinds[TRUNCATED_RECORD] == 1
    assert kinds["document"] == sum(v for k, v in counts.items() if k.startswith("article") or "dup" in k) + sum(
        counts.get(k, 0) for k in ("spam", "near_empty", "wrong_charset")
    )


def test_pathological_page_times_out_on_a_thread_in_a_child_process() -> None:
    # Off the main thread SIGALRM cannot reach the extractor: the page goes to a child process killed at the limit.
    from thresher.text.extract_child import close_children

    cells = "".join(f"<td><div><p>cell {i} text here</p></div></td>" for i in range(40))
    stuck = "<html><body>" + ("<table><tr>" + cells + "</tr>") * 300 + "</table>" * 300 + "</body></html>"
    results: dict[str, object] = {}

    def on_a_thread() -> None:
        results["first"] = extract_main_text(ARTICLE, ExtractOptions())  # starts the child (not timed)
        started = time.perf_counter()
        results["stuck"] = extract_main_text(stuck, ExtractOptions(timeout_seconds=0.5))
        results["elapsed"] = time.perf_counter() - started
        # The next page extracts normally in a fresh child, with the text the main thread gets.
        results["next"] = extract_main_text(ARTICLE, ExtractOptions())

    worker = threading.Thread(target=on_a_thread)
    worker.start()
    worker.join(timeout=60)
    close_children()
    assert results["stuck"].reason == EXTRACTION_TIMEOUT  # type: ignore[attr-defined]
    assert results["elapsed"] < 3.0  # type: ignore[operator]
    on_main_thread = extract_main_text(ARTICLE, ExtractOptions())
    assert results["first"].text == on_main_thread.text  # type: ignore[attr-defined]
    assert results["next"].reason is None  # type: ignore[attr-defined]
    assert results["next"].text == on_main_thread.text and "river number 3" in on_main_thread.text  # type: ignore[attr-defined]


def _arc_file(path: Path) -> None:
    """A small ARC v1 file (the Internet Archive's format before WARC): its filedesc record and one page."""
    import gzip

    page = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n" + ARTICLE.encode()
    version = b"1 0 Example\nURL IP-address Archive-date Content-type Archive-length\n"
    records = [
        b"filedesc://old.arc 0.0.0.0 20080430204825 text/plain %d\n" % len(version) + version,
        b"http://example.com/ 93.184.216.34 20080430204826 text/html %d\n" % len(page) + page,
    ]
    path.write_bytes(b"".join(gzip.compress(record + b"\n", mtime=0) for record in records))


@pytest.mark.parametrize("fmt", ["auto", "warc"])
def test_arc_files_are_refused_with_one_line(tmp_path: Path, fmt: str) -> None:
    from thresher.conf import InputConfig
    from thresher.errors import InputError
    from thresher.io.inputs import plan_inputs

    _arc_file(tmp_path / "IAH-20080430204825-00000.arc.gz")
    with pytest.raises(InputError, match=r"IAH-20080430204825-00000\.arc\.gz: ARC files .* are not supported"):
        plan_inputs(None, (InputConfig(path=[str(tmp_path)], format=fmt),))  # type: ignore[arg-type]
