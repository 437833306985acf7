"""Agreement of thresher's heuristic rule sets with the reference implementation (datatrove 0.10.1, default
parameters), per rule set and per corpus of ../shared/data.

    python -m bench.quality_agreement [--show N]

Both sides decide on the original text of every document (each rule set independently). The reference runs
in its own venv (bench/datatrove_reference.py, subprocess); thresher runs its stages in one fused pass
(`run_row_stages`, annotate mode, c4_quality last since it rewrites text). Prints a table and the
disagreements grouped by (thresher reason, reference reason); writes bench/results/quality_agreement.json.
"""

from __future__ import annotations

import argparse
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

RULE_SETS = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")
TARGET = 0.97
BATCH = 1000


def thresher_decisions(paths: list[Path]) -> dict[tuple[str, str], dict[str, list[Any]]]:
    stages = [GopherRepetition(), GopherQuality(), FineWebQuality(), C4Quality()]
    out: dict[tuple[str, str], dict[str, list[Any]]] = {}
    for path in paths:
        docs = [json.loads(line) for line in path.open()]
        for start in range(0, len(docs), BATCH):
            chunk = [{"doc_id": str(d["id"]), "text": d["text"]} for d in docs[start : start + BATCH]]
            for row in run_row_stages(stages, chunk, mode="annotate"):
                out[(path.name, row["doc_id"])] = {s: [row[s]["keep"], row[s]["reason"]] for s in RULE_SETS}
    return out


def reference_decisions(paths: list[Path]) -> dict[tuple[str, str], dict[str, list[Any]]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reference.jsonl"
        command = [str(REFERENCE_PYTHON), str(REFERENCE_SCRIPT), "decisions", str(out), *map(str, paths)]
        subprocess.run(command, check=True)
        rows = [json.loads(line) for line in out.open()]
    return {(r["corpus"], r["id"]): {s: r[s] for s in RULE_SETS} for r in rows}


def compare(
    mine: dict[tuple[str, str], dict[str, list[Any]]], reference: dict[tuple[str, str], dict[str, list[Any]]]
) -> dict[str, Any]:
    table: dict[str, dict[str, Any]] = defaultdict(dict)
    for corpus in sorted({c for c, _ in reference}):
        keys = [k for k in reference if k[0] == corpus]
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
    worst = min(cell["agreement"] for row in table.values() for cell in row.values())
    print(f"{'corpus':34} " + " ".join(f"{r:>18}" for r in RULE_SETS))
    for corpus, row in table.items():
        print(f"{corpus:34} " + " ".join(f"{row[r]['agreement']:>17.2%} " for r in RULE_SETS))
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
