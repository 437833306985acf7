"""The reference side of the quality benchmarks: datatrove's Gopher / C4 / FineWeb filters with default
parameters. Runs in the benchmark venv where datatrove is installed (never in thresher's own venv):

    /path/to/datatrove-venv/bin/python bench/datatrove_reference.py decisions OUT.jsonl IN.jsonl [IN.jsonl ...]
    /path/to/datatrove-venv/bin/python bench/datatrove_reference.py speed OUT.json IN.jsonl

`decisions` writes one line per document: its corpus (file name), id, each filter's [keep, reason], and digests
of its words and of the sentence counts of its lines.
`speed` times every filter on every document of IN.jsonl (each filter sees the original text) and writes the
docs/s. Both use only this file and datatrove, so the two venvs never mix.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.utils.text import split_into_sentences, split_into_words
from datatrove.utils.typeshelper import Languages

FILTERS = {
    "gopher_repetition": GopherRepetitionFilter,
    "gopher_quality": GopherQualityFilter,
    "c4_quality": C4QualityFilter,
    "fineweb_quality": FineWebQualityFilter,
}


def _decide(rule, text: str, doc_id: str) -> list:
    result = rule.filter(Document(text=text, id=doc_id))
    if isinstance(result, tuple):
        return [bool(result[0]), result[1]]
    return [bool(result), None]


def digest(items: list) -> str:
    return hashlib.sha1("\x00".join(map(str, items)).encode("utf-8", "surrogatepass")).hexdigest()


def analysis(text: str) -> dict:
    """Digests of the words of the text and of the sentence counts of its stripped non-empty lines."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return {
        "words": digest(split_into_words(text, Languages.english)),
        "sentences": digest([len(split_into_sentences(line, Languages.english)) for line in lines]),
    }


def decisions(out: Path, inputs: list[Path]) -> None:
    rules = {name: cls() for name, cls in FILTERS.items()}
    with out.open("w") as sink:
        for path in inputs:
            for line in path.open():
                doc = json.loads(line)
                row = {"corpus": path.name, "id": str(doc["id"])}
                for name, rule in rules.items():
                    row[name] = _decide(rule, doc["text"], row["id"])
                row["analysis"] = analysis(doc["text"])
                sink.write(json.dumps(row) + "\n")


def speed(out: Path, path: Path) -> None:
    rules = {name: cls() for name, cls in FILTERS.items()}
    docs = [json.loads(line) for line in path.open()]
    seconds = dict.fromkeys(rules, 0.0)
    kept = dict.fromkeys(rules, 0)
    started, cpu_started = time.perf_counter(), time.process_time()
    for doc in docs:
        for name, rule in rules.items():
            clock = time.perf_counter()
            kept[name] += _decide(rule, doc["text"], str(doc["id"]))[0]
            seconds[name] += time.perf_counter() - clock
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    result = {
        "cpu_seconds": cpu,
        "docs": len(docs),
        "seconds": total,
        "docs_per_second": len(docs) / total,
        "seconds_per_filter": seconds,
        "kept": kept,
    }
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    command, target, *paths = sys.argv[1:]
    if command == "decisions":
        decisions(Path(target), [Path(p) for p in paths])
    elif command == "speed":
        speed(Path(target), Path(paths[0]))
    else:
        raise SystemExit(f"unknown command {command!r}: use decisions or speed")
