"""How minhash_dedup's time grows with the corpus: 10k, 100k and 1M synthetic documents built from real text.

    python -m bench.dedup_scaling [--sizes 10000 100000 1000000]

Each document joins three random spans of 40-80 words of the real documents in ../shared/data; one in ten
is a variant of an earlier document (1-3 % of its words inserted, deleted or substituted), so the corpus
has near-duplicate clusters to find. Each size runs in its own process (`local[2]`, the stage's defaults;
driver memory 3g, 6g for 1M documents) and is timed from reading the documents to the written decisions.
Near-linear growth means time ratios close to the size ratios (10x). Writes bench/results/dedup_scaling.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random

import pyarrow as pa

from bench.dedup_corpus import BUILD, RESULTS, load_originals, vary, write_files
from bench.dedup_speed import measure

CHUNK = 100_000


def synthetic_corpus(size: int, seed: int = 0):
    path = BUILD / f"synthetic_{size}"
    if path.exists():
        return path
    rng = random.Random(seed)
    words = [w for text in load_originals() for w in text.split(" ")]
    vocabulary = sorted({w for w in words if w.isalpha() and len(w) > 2})
    texts: list[str] = []
    for _ in range(size):
        if texts and rng.random() < 0.1:
            texts.append(vary(rng, rng.choice(texts[-10_000:]), rng.choice([0.01, 0.02, 0.03]), vocabulary))
            continue
        spans = []
        for _ in range(3):
            length = rng.randint(40, 80)
            start = rng.randrange(len(words) - length)
            spans.append(" ".join(words[start : start + length]))
        texts.append("\n\n".join(spans))
    table = pa.table({"doc_id": [f"syn-{i:08d}" for i in range(size)], "text": texts})
    write_files(table, path, files=max(8, size // CHUNK))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        corpus = synthetic_corpus(size)
        memory = "6g" if size >= 1_000_000 else "3g"
        result = measure("thresher", corpus, size, driver_memory=memory)
        results.append({"size": size, "driver_memory": memory, **result})
        print(
            f"{size:>9} docs  {result['seconds']:8.1f} s  {result['docs_per_second']:7.0f} docs/s  "
            f"peak {result['peak_rss_mb']:6.0f} MB  duplicates {result['duplicates']:.0f}",
            flush=True,
        )
    for smaller, larger in itertools.pairwise(results):
        ratio = larger["seconds"] / smaller["seconds"]
        larger["time_ratio_to_previous"] = ratio
        print(
            f"{smaller['size']} -> {larger['size']} docs ({larger['size'] / smaller['size']:.0f}x): time x{ratio:.2f}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dedup_scaling.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
