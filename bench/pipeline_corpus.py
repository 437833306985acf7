"""Corpora of the whole-pipeline benchmarks (bench/pipeline_speed.py, bench/pipeline_scaling.py).

* `real_documents()`: every distinct real document of ../shared/data: the JSONL corpora plus the main text of
  the HTML pages of its WARC files (extracted once with thresher's own extractor, cached under build/).
  Distinct means distinct text: repeated documents would flatter any cache.
* `scaled_documents(real, size, seed)`: `size` documents generated from real text, deterministic in `seed`.
  Each new document joins runs of consecutive lines of random real documents until it reaches the length of
  a real document drawn at random (so lengths follow the real distribution), with `WORD_NOISE` of its words
  replaced by words of the corpus (so that documents built from the same lines still differ, and their lines
  are not all repeated verbatim across documents). A share of the documents are planted duplicates of an
  earlier generated document: exact copies (`EXACT_RATE`, half of them under the same URL) and near
  duplicates (`NEAR_RATE`, 1-3 % of the words edited), ~14 % in all, the order of magnitude web crawls show
  after URL dedup. Pure Python, no Spark: tested in tests/unit/test_bench_pipeline_corpus.py.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bench._common import ROOT, SHARED_DATA

BUILD = ROOT / "build" / "bench" / "pipeline"
EXACT_RATE = 0.06
NEAR_RATE = 0.08
WORD_NOISE = 0.08
RECENT = 20_000  # duplicates copy one of this many latest documents


def _jsonl_documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(SHARED_DATA.glob("*.jsonl")):
        for record in map(json.loads, path.open()):
            text = record.get("text")
            if isinstance(text, str) and text.strip():
                docs.append({"id": f"{path.stem}:{record['id']}", "text": text, "url": record.get("url")})
    return docs


def _warc_documents() -> list[dict[str, Any]]:
    """Main text of every HTML response in the shared WARC files (resiliparse: the cheap extractor)."""
    cache = BUILD / "warc_pages.jsonl"
    if cache.exists():
        return [json.loads(line) for line in cache.open()]
    from thresher.io.warc import WarcOptions, iter_records
    from thresher.text.html_extract import ExtractOptions, extract_main_text

    options = ExtractOptions(extractor="resiliparse")
    docs = []
    for path in sorted((SHARED_DATA / "warc").glob("*/*.warc*")):
        if ".wat." in path.name or ".wet." in path.name:
            continue
        with path.open("rb") as handle:
            for row in iter_records(str(path), handle, path.stat().st_size, WarcOptions(source="bench")):
                html = row.get("text")
                if not isinstance(html, str) or (row.get("meta") or {}).get("warc_type") != "response":
                    continue
                text = extract_main_text(html, options).text
                if text:
                    docs.append({"id": f"warc:{row['input_id']}", "text": text, "url": row.get("url")})
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.open("w") as sink:
        for doc in docs:
            sink.write(json.dumps(doc) + "\n")
    return docs


def real_documents() -> list[dict[str, Any]]:
    """Distinct real documents (by text), JSONL corpora first, in a fixed order."""
    seen: set[str] = set()
    distinct = []
    for doc in _jsonl_documents() + _warc_documents():
        if doc["text"] not in seen:
            seen.add(doc["text"])
            distinct.append(doc)
    if not distinct:
        raise SystemExit(f"no documents in {SHARED_DATA} (set THRESHER_SHARED_DATA)")
    return distinct


def write_jsonl(docs: Iterable[dict[str, Any]], path: Path, *, compress: bool = False) -> tuple[int, int]:
    """Write documents as JSONL; returns (documents, bytes of text)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = text_bytes = 0
    opener = gzip.open if compress else open
    with opener(path, "wt", encoding="utf-8") as sink:
        for doc in docs:
            sink.write(json.dumps(doc, ensure_ascii=False) + "\n")
            count += 1
            text_bytes += len(doc["text"].encode("utf-8"))
    return count, text_bytes


def _edit(rng: random.Random, text: str, rate: float, vocabulary: list[str]) -> str:
    """Replace each word (space-separated token) by a corpus word with probability `rate`; lines are kept."""
    lines = []
    for line in text.split("\n"):
        words = line.split(" ")
        for i in range(len(words)):
            if words[i] and rng.random() < rate:
                words[i] = rng.choice(vocabulary)
        lines.append(" ".join(words))
    return "\n".join(lines)


def scaled_documents(real: list[dict[str, Any]], size: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """`size` documents generated from `real` (see the module doc); each has `id`, `text`, `url` and `kind`
    (`new`, `exact` or `near`: what the generator planted, for checking the dedup stages)."""
    rng = random.Random(seed)
    lines_of = [[line for line in doc["text"].split("\n") if line.strip()] for doc in real]
    lengths = [len(doc["text"]) for doc in real]
    vocabulary = sorted({w for doc in real[:2000] for w in doc["text"].split() if w.isalpha() and 2 < len(w) < 15})
    domains = sorted({doc["url"].split("/")[2] for doc in real if doc.get("url") and doc["url"].count("/") >= 2})
    domains = domains or ["example.com"]
    recent: list[dict[str, Any]] = []
    for number in range(size):
        roll = rng.random()
        if recent and roll < EXACT_RATE:
            original = rng.choice(recent)
            url = original["url"] if rng.random() < 0.5 else f"https://{rng.choice(domains)}/copy/{number}"
            doc = {"text": original["text"], "url": url, "kind": "exact"}
        elif recent and roll < EXACT_RATE + NEAR_RATE:
            original = rng.choice(recent)
            text = _edit(rng, original["text"], rng.choice((0.01, 0.02, 0.03)), vocabulary)
            doc = {"text": text, "url": f"https://{rng.choice(domains)}/near/{number}", "kind": "near"}
        else:
            target = rng.choice(lengths)
            parts: list[str] = []
            chars = 0
            while chars < target:
                lines = lines_of[rng.randrange(len(lines_of))]
                if not lines:
                    continue
                start = rng.randrange(len(lines))
                run = lines[start : start + rng.randint(1, 8)]
                parts += run
                chars += sum(len(line) + 1 for line in run)
            text = _edit(rng, "\n".join(parts), WORD_NOISE, vocabulary)
            doc = {"text": text, "url": f"https://{rng.choice(domains)}/page/{number}", "kind": "new"}
        doc = {"id": f"s{seed}-{number}", **doc}
        if len(recent) < RECENT:
            recent.append(doc)
        else:
            recent[rng.randrange(RECENT)] = doc
        yield doc
