"""Agreement of thresher's heuristic rule sets with the reference implementation (datatrove 0.10.1, default
parameters), per rule set and per corpus of ../shared/data.

    python -m bench.quality_agreement [--show N]

Both sides decide on the original text of every document (each rule set independently). The reference runs
in its own venv (bench/datatrove_reference.py, subprocess); thresher runs its stages in one fused pass
(`run_row_stages`, annotate mode, c4_quality last since it rewrites text). Prints a table and the
disagreements grouped by (thresher reason, reference reason), and how many documents get exactly the reference's
word sequence and per-line sentence counts; writes bench/results/quality_agreement.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench._common import REFERENCE_PYTHON, REFERENCE_SCRIPT, check_reference, corpora, write_result
from thresher.stages.fused import run_row_stages
from thresher.stages.quality.c4 import C4Quality
from thresher.stages.quality.fineweb import FineWebQuality
from thresher.stages.quality.gopher import GopherQuality, GopherRepetition
from thresher.text.sentences import count_sentences, sentence_flags
from thresher.text.words import word_splitter

RULE_SETS = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")
TARGET = 0.97
BATCH = 1000


def _digest(items: list[Any]) -> str:
    return hashlib.sha1("\x00".join(map(str, items)).encode("utf-8", "surrogatepass")).hexdigest()


def thresher_analysis(text: str) -> dict[str, str]:
    """The same digests as the reference side: words, and sentences of each stripped non-empty line."""
    splitter = word_splitter("en")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return {
        "words": _digest(splitter.split(text)),
        "sentences": _digest([count_sentences(sentence_flags(splitter, line)) for line in lines]),
    }


def thresher_decisions(paths: list[Path]) -> dict[tuple[str, str], dict[str, Any]]:
    stages = [GopherRepetition(), GopherQuality(), FineWebQuality(), C4Quality()]
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for path in paths:
        docs = [json.loads(line) for line in path.open()]
        for start in range(0, len(docs), BATCH):
            chunk = [{"doc_id": str(d["id"]), "text": d["text"]} for d in docs[start : start + BATCH]]
            for doc, row in zip(chunk, run_row_stages(stages, chunk, mode="annotate"), strict=True):
                decisions = {s: [row[s]["keep"], row[s]["reason"]] for s in RULE_SETS}
                out[(path.name, row["doc_id"])] = {**decisions, "analysis": thresher_analysis(doc["text"])}
    return out


def reference_decisions(paths: list[Path]) -> dict[tuple[str, str], dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reference.jsonl"
        command = [str(REFERENCE_PYTHON), str(REFERENCE_SCRIPT), "decisions", str(out), *map(str, paths)]
        subprocess.run(command, check=True)
        rows = [json.loads(line) for line in out.open()]
    return {(r["corpus"], r["id"]): {**{s: r[s] for s in RULE_SETS}, "analysis": r["analysis"]} for r in rows}


def compare(
    mine: dict[tuple[str, str], dict[str, Any]], reference: dict[tuple[str, str], dict[str, Any]]
) -> dict[str, Any]:
    table: dict[str, dict[str, Any]] = defaultdict(dict)
    for corpus in sorted({c for c, _ in reference}):
        keys = [k for k in reference if k[0] == corpus]
        for part, name in (("words", "identical_words"), ("sentences", "identical_line_sentences")):
            same = sum(mine[k]["analysis"][part] == reference[k]["analysis"][part] for k in keys)
            table[corpus][name] = {"docs": len(keys), "same": same}
        for rule in RULE_SETS:
            disagreements = Counter()
            examples: dict[str, list[str]] = defaultdict(list)
            for key in keys:
                ours, theirs = mine[key][rule], reference[key][rule]
                if bool(ours[0]) != bool(theirs[0]):
                    label = f"thresher {ours[1] or 'keep'} / reference {theirs[1] or 'keep'}"
                    disagreements[label] += 1
                    examples[label].append(key[1])
            agree = len(keys) - sum(disagreements.values())
            table[corpus][rule] = {
                "docs": len(keys),
                "agree": agree,
                "agreement": agree / len(keys),
                "kept_thresher": sum(bool(mine[k][rule][0]) for k in keys),
                "kept_reference": sum(bool(reference[k][rule][0]) for k in keys),
                "disagreements": dict(disagreements.most_common()),
                "examples": {label: ids[:5] for label, ids in examples.items()},
            }
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=int, default=5, help="disagreement kinds to print per cell")
    args = parser.parse_args()
    check_reference()
    paths = corpora()
    clock = time.perf_counter()
    reference = reference_decisions(paths)
    reference_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    mine = thresher_decisions(paths)
    thresher_seconds = time.perf_counter() - clock
    table = compare(mine, reference)
    worst = min(row[rule]["agreement"] for row in table.values() for rule in RULE_SETS)
    print(f"{'corpus':34} " + " ".join(f"{r:>18}" for r in RULE_SETS))
    for corpus, row in table.items():
        print(f"{corpus:34} " + " ".join(f"{row[r]['agreement']:>17.2%} " for r in RULE_SETS))
    for corpus, row in table.items():
        words, sentences = row["identical_words"], row["identical_line_sentences"]
        print(
            f"  {corpus}: identical word sequences {words['same']}/{words['docs']} documents, identical sentence "
            f"counts of every line {sentences['same']}/{sentences['docs']}"
        )
    for corpus, row in table.items():
        for rule in RULE_SETS:
            for label, count in list(row[rule]["disagreements"].items())[: args.show]:
                ids = ", ".join(row[rule]["examples"][label][:3])
                print(f"  {corpus} {rule}: {count} x {label} (e.g. {ids})")
    print(
        f"lowest agreement {worst:.2%} (target {TARGET:.0%}); reference {reference_seconds:.1f} s, "
        f"thresher {thresher_seconds:.1f} s"
    )
    path = write_result(
        "quality_agreement",
        {
            "table": table,
            "lowest_agreement": worst,
            "target": TARGET,
            "reference": "datatrove 0.10.1, default parameters",
            "reference_seconds": reference_seconds,
            "thresher_seconds": thresher_seconds,
        },
    )
    print(f"wrote {path}")
    if worst < TARGET:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
