"""`thresher calibrate` on the UDHR (clean reference text, documents of 4 paragraphs) against FineWeb-2's published
per-language values, for the languages that have both.

    .venv/bin/python -m bench.calibrate_compare [--languages 40]

Writes bench/results/calibrate_compare.json: per setting, the median of (calibrated - FineWeb-2) over languages
and the share of languages where the calibrated value is the stricter one, and a few languages in full.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench._common import SHARED_DATA, write_result
from thresher.cli import main as thresher
from thresher.stages.quality._calibrate import RULES
from thresher.stages.quality._presets import load_settings

# For each setting, whether a larger value removes more documents.
STRICTER_WHEN_LARGER = {name: bound == "lower" for name, (_, bound, _) in RULES.items()} | {"language_score": True}


def _reference(path: Path, size: int) -> list[dict]:
    chosen: dict[str, dict] = {}
    with gzip.open(SHARED_DATA / "multilingual" / "udhr_all.jsonl.gz", "rt") as f:
        for line in f:
            row = json.loads(line)
            iso3 = row.get("iso6393")
            if iso3 and iso3 != "und" and (iso3 not in chosen or row["code"] == iso3):
                chosen[iso3] = row
    docs = []
    for iso3, row in sorted(chosen.items()):
        paragraphs = [p for p in row["text"].split("\n") if p.strip()]
        docs += [
            {"id": f"{iso3}-{i}", "text": "\n".join(paragraphs[i : i + size])} for i in range(0, len(paragraphs), size)
        ]
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs))
    return docs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--doc-paragraphs", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        reference = Path(tmp) / "udhr.jsonl"
        docs = _reference(reference, args.doc_paragraphs)
        output = Path(tmp) / "calibrated.json"
        start = time.perf_counter()
        code = thresher(["calibrate", "--input", str(reference), "--output", str(output), "--min-documents", "15"])
        seconds = time.perf_counter() - start
        if code:
            return code
        calibrated = load_settings(str(output))
        report = json.loads((Path(tmp) / "calibrated.report.json").read_text())
    fineweb2 = load_settings("fineweb2")
    common = sorted(k for k in calibrated.values if k in fineweb2.values)
    per_setting = {}
    for name, larger_is_stricter in STRICTER_WHEN_LARGER.items():
        pairs = [
            (calibrated.values[k][name], fineweb2.values[k][name])
            for k in common
            if name in calibrated.values[k] and name in fineweb2.values[k]
        ]
        pairs = [(c, f) for c, f in pairs if f is not None and f >= 0]  # FineWeb-2 writes -1 for "rule off"
        if not pairs:
            continue
        stricter = sum((c > f) if larger_is_stricter else (c < f) for c, f in pairs)
        per_setting[name] = {
            "languages": len(pairs),
            "median_calibrated": round(statistics.median(c for c, _ in pairs), 3),
            "median_fineweb2": round(statistics.median(f for _, f in pairs), 3),
            "median_difference": round(statistics.median(c - f for c, f in pairs), 3),
            "share_calibrated_stricter": round(stricter / len(pairs), 3),
        }
    examples = {
        k: {"calibrated": calibrated.values[k], "fineweb2": fineweb2.values[k]}
        for k in ("fra_Latn", "rus_Cyrl", "cmn_Hani", "arb_Arab", "hin_Deva", "swh_Latn")
        if k in common
    }
    stop_overlap = [
        len(set(calibrated.stop_words.get(k, [])) & set(fineweb2.stop_words.get(k, [])))
        / max(1, min(len(calibrated.stop_words.get(k, [])), len(fineweb2.stop_words.get(k, []))))
        for k in common
        if calibrated.stop_words.get(k)
    ]
    result = {
        "reference_documents": len(docs),
        "calibrate_seconds": round(seconds, 1),
        "calibrated_languages": len(calibrated.values),
        "compared_languages": len(common),
        "keep_rates": report["keep_rates"],
        "per_setting": per_setting,
        "stop_word_overlap_median": round(statistics.median(stop_overlap), 3) if stop_overlap else None,
        "examples": examples,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "examples"}, indent=1))
    print(write_result("calibrate_compare", result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
