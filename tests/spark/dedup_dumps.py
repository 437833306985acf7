"""Generated "dumps" of a crawl for the dedup-index tests and benchmark: each dump holds new documents plus
copies of documents of earlier dumps (exact copies, near-duplicates, the same URL with new text) and copies within
itself. Every copy is recorded in the record's `copy_of` and `copy_kind` fields (they land in `meta`)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.spark.dedup_docs import document, near_duplicate, vocabulary

# copy_kind -> the stage and reason that must remove the copy
CROSS_KINDS = {
    "exact": ("exact_dedup", "duplicate_of_earlier_run"),
    "url": ("url_dedup", "duplicate_of_earlier_run"),
    "near": ("minhash_dedup", "duplicate_of_earlier_run"),
}
WITHIN_KINDS = {"exact_within": ("exact_dedup", "exact_duplicate"), "near_within": ("minhash_dedup", "near_duplicate")}


def write_dumps(folder: Path, dumps: int, originals: int, copies: int, seed: int = 7) -> list[Path]:
    """`dumps` JSONL files. Dump k has `originals` new documents (ids `k-00000`...) and, for k > 1, `copies` of
    each cross-dump kind, plus `copies` // 2 of each within-dump kind (ids `k-x-KIND-...`, sorting after the
    originals, so originals are kept). Ids sort dump by dump: a run over all dumps keeps the earliest copy, as a
    run against an index of the earlier dumps does."""
    rng = random.Random(seed)
    words = vocabulary(seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    earlier: list[dict] = []
    paths = []
    for dump in range(1, dumps + 1):
        records = [
            {
                "id": f"{dump}-{i:05d}",
                "text": document(rng, words, rng.randint(120, 200)),
                "url": f"https://site{rng.randint(0, 50)}.example/{dump}/page-{i}",
            }
            for i in range(originals)
        ]
        own = list(records)
        if earlier:
            for kind in CROSS_KINDS:
                for i, target in enumerate(rng.sample(earlier, copies)):
                    records.append(_copy(rng, words, target, kind, f"{dump}-x-{kind}-{i:04d}", dump))
        for kind in WITHIN_KINDS:
            for i, target in enumerate(rng.sample(own, copies // 2)):
                records.append(_copy(rng, words, target, kind, f"{dump}-x-{kind}-{i:04d}", dump))
        earlier.extend(own)
        rng.shuffle(records)
        path = folder / f"dump{dump}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        paths.append(path)
    return paths


def _copy(rng: random.Random, words: list[str], target: dict, kind: str, doc_id: str, dump: int) -> dict:
    url = f"https://mirror.example/{dump}/{doc_id}"
    if kind in ("exact", "exact_within"):
        text = target["text"].replace(". ", ".  ", 3)  # whitespace differences only
    elif kind in ("near", "near_within"):
        text = near_duplicate(rng, target["text"], words, 2)
    else:  # the same page fetched again, now with other content
        text = document(rng, words, rng.randint(120, 200))
        url = target["url"] + "?utm_source=feed"
    return {"id": doc_id, "text": text, "url": url, "copy_of": target["id"], "copy_kind": kind}
