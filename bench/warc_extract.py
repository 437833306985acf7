"""WARC -> main text: extraction quality and throughput per core, thresher next to datatrove (issue 13).

    python -m bench.warc_extract [--throughput-files N]

Quality, on the 524 real pages of trafilatura's evaluation set (../shared/data/warc/trafilatura_eval): the
share of `with` snippets found in the extracted text and of `without` snippets absent, for thresher's
`extract` stage with each extractor, for trafilatura called directly with the same options on the same decoded
page (its texts must be identical to thresher's: the stage distributes trafilatura, it does not change it),
and for trafilatura called directly on the raw bytes (its own charset decoding). For the one Common Crawl
page with a WET record (whirlwind), the share of the WET text's lines found in thresher's text.

Throughput, on every .warc.gz of ../shared/data/warc except the clipped one: the executor-side work of a
thresher task (stream the records with FastWARC, decode, run the extract stage over Arrow batches) in this
process, and datatrove's WarcReader + Trafilatura(favour_precision) in its own venv, in the same run. CPU
seconds (process + children: datatrove extracts in a sandbox subprocess), so a loaded machine changes little;
MB of WARC (compressed, as stored) per CPU second = per core.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench._common import ROOT, SHARED_DATA, write_result
from thresher.io.warc import WarcOptions, read_all
from thresher.schema import REWRITTEN_TEXT
from thresher.stages.extract import Extract, ExtractParams
from thresher.stages.fused import FusedPass
from thresher.text.html_extract import trafilatura_options

WARC_DIR = SHARED_DATA / "warc"
EVAL_WARC = WARC_DIR / "trafilatura_eval" / "trafilatura_eval_524.warc.gz"
EVAL_GOLD = WARC_DIR / "trafilatura_eval" / "trafilatura_eval_524.gold.jsonl.gz"
REFERENCE_PYTHON = Path(
    os.environ.get("THRESHER_DATATROVE_WARC_PYTHON", ROOT / "build" / "venvs" / "datatrove-warc" / "bin" / "python")
)
_SPACES = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _score(texts: dict[str, str], gold: list[dict[str, Any]]) -> dict[str, float]:
    found = total_with = absent = total_without = 0
    for item in gold:
        text = _norm(texts.get(item["warc_record_id"], ""))
        found += sum(_norm(s) in text for s in item["with"])
        total_with += len(item["with"])
        absent += sum(_norm(s) not in text for s in item["without"])
        total_without += len(item["without"])
    return {
        "with_found": found / total_with,
        "without_absent": absent / total_without,
        "snippets_with": total_with,
        "snippets_without": total_without,
    }


def _documents(path: Path) -> list[dict[str, Any]]:
    return [r for r in read_all(str(path), WarcOptions("bench")) if r.get("text") is not None]


def _extract(docs: list[dict[str, Any]], params: ExtractParams, batch_size: int = 1000) -> list[dict[str, Any]]:
    """The extract stage as an executor runs it: FusedPass over Arrow batches of the ingest rows."""
    fused = FusedPass([Extract(params)], "annotate")
    out: list[dict[str, Any]] = []
    for start in range(0, len(docs), batch_size):
        rows = [
            {"doc_id": d["input_id"], "text": d["text"], "url": d["url"], "meta": d["meta"]}
            for d in docs[start : start + batch_size]
        ]
        batch = pa.RecordBatch.from_pylist(rows)
        # Annotate mode keeps the page in `text` and puts the stage's text in `rewritten_text`.
        for row in fused.run_batch(batch).to_pylist():
            row["text"] = row.pop(REWRITTEN_TEXT)
            out.append(row)
    return out


def quality() -> dict[str, Any]:
    with gzip.open(EVAL_GOLD, "rt", encoding="utf-8") as lines:
        gold = [json.loads(line) for line in lines]
    docs = _documents(EVAL_WARC)
    by_id = {d["meta"]["warc_record_id"]: d for d in docs}
    results: dict[str, Any] = {"pages": len(gold)}
    thresher_texts: dict[str, dict[str, str]] = {}
    for extractor in ("trafilatura", "resiliparse"):
        params = ExtractParams(extractor=extractor, timeout_seconds=60)
        started = time.process_time()
        extracted = _extract(docs, params)
        seconds = time.process_time() - started
        texts = {d["meta"]["warc_record_id"]: d["text"] for d in extracted}
        thresher_texts[extractor] = texts
        results[f"thresher_{extractor}"] = {**_score(texts, gold), "cpu_seconds": seconds}
    import trafilatura

    options = trafilatura_options(ExtractParams().options())
    direct = {rid: (trafilatura.extract(d["text"], **options) or "").strip() for rid, d in by_id.items()}
    results["trafilatura_direct"] = _score(direct, gold)
    results["identical_to_direct"] = sum(direct[rid] == thresher_texts["trafilatura"][rid] for rid in direct)
    raw = _raw_payloads(EVAL_WARC)
    direct_bytes = {rid: (trafilatura.extract(body, **options) or "").strip() for rid, body in raw.items()}
    results["trafilatura_direct_on_bytes"] = _score(direct_bytes, gold)
    results["identical_to_direct_on_bytes"] = sum(
        direct_bytes[rid] == thresher_texts["trafilatura"].get(rid, "") for rid in direct_bytes
    )
    results["wet_pair"] = _wet_pair()
    return results


def _raw_payloads(path: Path) -> dict[str, bytes]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    payloads = {}
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle, record_types=WarcRecordType.response, parse_http=True):
            payloads[record.record_id] = record.reader.read()
    return payloads


def _wet_pair() -> dict[str, Any]:
    warc, wet = WARC_DIR / "whirlwind" / "whirlwind.warc.gz", WARC_DIR / "whirlwind" / "whirlwind.warc.wet.gz"
    page = _documents(warc)[0]
    wet_text = next(d["text"] for d in _documents(wet))
    out: dict[str, Any] = {"url": page["url"], "wet_chars": len(wet_text)}
    wet_lines = [_norm(line) for line in wet_text.splitlines() if len(_norm(line)) >= 30]
    for extractor in ("trafilatura", "resiliparse"):
        text = _norm(_extract([page], ExtractParams(extractor=extractor))[0]["text"])
        found = sum(line in text for line in wet_lines)
        out[extractor] = {
            "chars": len(text),
            "share_of_wet_lines_found": found / len(wet_lines) if wet_lines else None,
        }
    out["wet_lines_compared"] = len(wet_lines)
    return out


def throughput(files: list[Path]) -> dict[str, Any]:
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    runs: dict[str, Any] = {"files": [p.relative_to(WARC_DIR).as_posix() for p in files], "warc_mb": megabytes}
    for extractor in ("trafilatura", "resiliparse"):
        started = time.process_time()
        documents = pages = html_chars = 0
        for path in files:
            read = _documents(path)
            extracted = _extract(read, ExtractParams(extractor=extractor))
            documents += sum(1 for d in extracted if d["extract"]["keep"])
            # Pages handed to the extractor (WET text passes by); `extracted` is false for timeouts too.
            pages += sum(1 for d in extracted if d["extract"]["html_chars"] is not None)
            html_chars += sum(d["extract"]["html_chars"] or 0 for d in extracted)
        seconds = time.process_time() - started
        runs[f"thresher_{extractor}"] = {
            "pages": pages,
            "html_mb": html_chars / 1e6,
            "documents": documents,
            "cpu_seconds": seconds,
            "mb_per_core_second": megabytes / seconds,
            "cpu_ms_per_page": 1000 * seconds / pages,
            "html_mb_per_core_second": html_chars / 1e6 / seconds,
        }
        print(extractor, runs[f"thresher_{extractor}"], flush=True)
    if not REFERENCE_PYTHON.exists():
        runs["datatrove"] = f"reference venv not found: {REFERENCE_PYTHON} (make reference-warc-venv)"
        return runs
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "datatrove.json"
        script = ROOT / "bench" / "datatrove_warc.py"
        subprocess.run([str(REFERENCE_PYTHON), str(script), str(out), *map(str, files)], check=True)
        reference = json.loads(out.read_text())
    cpu = reference["cpu_seconds"] + reference["children_cpu_seconds"]
    runs["datatrove"] = {
        **reference,
        "mb_per_core_second": megabytes / cpu,
        "cpu_ms_per_page": 1000 * cpu / reference["pages"],
        "html_mb_per_core_second": reference["html_chars"] / 1e6 / cpu,
    }
    for extractor in ("trafilatura", "resiliparse"):
        mine = runs[f"thresher_{extractor}"]
        # Per WARC MB (the measure), and per MB of HTML handed to the extractor: datatrove's reader
        # drops pages thresher extracts (payload sniffing, undecodable pages), so it extracts less of each file.
        runs[f"ratio_{extractor}_vs_datatrove"] = cpu / mine["cpu_seconds"]
        runs[f"ratio_{extractor}_vs_datatrove_per_html_mb"] = (
            mine["html_mb_per_core_second"] / runs["datatrove"]["html_mb_per_core_second"]
        )
    runs["load_average_at_end"] = os.getloadavg()
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument(
        "--throughput-files",
        default="**/*.warc.gz",
        help="glob under ../shared/data/warc for the throughput run (default: every .warc.gz but the clipped one)",
    )
    args = parser.parse_args()
    if not EVAL_WARC.exists():
        raise SystemExit(f"shared WARC samples not found in {WARC_DIR} (set THRESHER_SHARED_DATA)")
    files = sorted(p for p in WARC_DIR.glob(args.throughput_files) if p.name != "clipped.warc.gz")
    result: dict[str, Any] = {"machine_note": "CPU-time ratios; the machine is shared with other jobs"}
    if not args.skip_quality:
        result["quality"] = quality()
        print(json.dumps(result["quality"], indent=2), flush=True)
    if not args.skip_throughput:
        result["throughput"] = throughput(files)
        print(json.dumps(result["throughput"], indent=2))
    name = "warc_extract" if not args.skip_throughput else "warc_extract_quality"
    print(f"wrote {write_result(name, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
