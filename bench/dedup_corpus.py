"""The near-duplicate benchmark: real documents from ../shared/data plus variants of them, and the exact
ground truth (every pair with Jaccard >= 0.5 over the same shingles minhash_dedup uses).

Variants: words inserted, deleted or substituted (words drawn from the corpus) at a rate picked from RATES,
and in some variants boilerplate headers and footers (lines written for this benchmark). Ground truth:
exact Jaccard of the sets of FineWeb-normalized word 5-gram shingles, found with prefix filtering (every
pair above the bound is found, nothing is sampled).
"""

from __future__ import annotations

import math
import os
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from thresher.dedup.normalize import FINEWEB_NORMALIZATION, normalize_texts
from thresher.dedup.shingles import shingle_hashes

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("THRESHER_SHARED_DATA", ROOT.parent / "shared" / "data"))
BUILD = ROOT / "build" / "bench" / "dedup"
RESULTS = ROOT / "bench" / "results"

RATES = (0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2)
MIN_SIMILARITY = 0.5
NGRAM = 5

HEADERS = [
    "Skip to main content",
    "Home | News | Sport | Weather | Contact us",
    "You are here: Home > Articles > Latest",
    "Sign in or create an account to save this page",
    "This site uses cookies to give you the best experience. Accept and continue",
    "Menu Search Subscribe",
    "Breaking: live updates from our newsroom all day",
]
FOOTERS = [
    "Share this: Facebook Twitter LinkedIn Email Print",
    "Related posts you might also like",
    "Leave a comment below. Your email address will not be published.",
    "Copyright 2019 All rights reserved. Terms of use | Privacy policy | Cookie settings",
    "Subscribe to our newsletter and get the latest stories in your inbox every morning",
    "Tags: news, opinion, local, featured",
    "Back to top",
    "Advertisement",
]


def load_originals(min_words: int = 50) -> list[str]:
    texts = []
    for path in sorted(SHARED_DATA.glob("*.jsonl")):
        with path.open("rb") as handle:
            for line in handle:
                text = orjson.loads(line).get("text")
                if isinstance(text, str) and len(text.split()) >= min_words:
                    texts.append(text)
    if not texts:
        raise SystemExit(f"no documents in {SHARED_DATA} (set THRESHER_SHARED_DATA)")
    return texts


def vary(rng: random.Random, text: str, rate: float, vocabulary: list[str]) -> str:
    """Insert, delete or substitute each word with probability `rate` (one of the three at random)."""
    out = []
    for token in text.split(" "):
        if rng.random() >= rate:
            out.append(token)
            continue
        operation = rng.randrange(3)
        if operation == 0:
            out += [token, rng.choice(vocabulary)]
        elif operation == 2:
            out.append(rng.choice(vocabulary))
    return " ".join(out)


def with_boilerplate(rng: random.Random, text: str) -> str:
    header = "\n".join(rng.sample(HEADERS, rng.randint(0, 3)))
    footer = "\n".join(rng.sample(FOOTERS, rng.randint(1, 4)))
    return f"{header}\n{text}\n{footer}".strip("\n")


def build_corpus(seed: int = 0, max_variants: int = 4) -> list[dict[str, object]]:
    """Originals and 0..max_variants variants of each, shuffled, with doc_ids doc-000000, ..."""
    rng = random.Random(seed)
    originals = load_originals()
    vocabulary = sorted({w for t in originals for w in t.split() if w.isalpha() and len(w) > 2})
    docs: list[dict[str, object]] = []
    for index, text in enumerate(originals):
        docs.append({"text": text, "original": index, "rate": 0.0, "boilerplate": False})
        for _ in range(rng.randint(0, max_variants)):
            rate = rng.choice(RATES)
            variant = vary(rng, text, rate, vocabulary)
            boilerplate = rng.random() < 0.4
            if boilerplate:
                variant = with_boilerplate(rng, variant)
            docs.append({"text": variant, "original": index, "rate": rate, "boilerplate": boilerplate})
    rng.shuffle(docs)
    for number, doc in enumerate(docs):
        doc["doc_id"] = f"doc-{number:06d}"
    return docs


def shingle_sets(texts: list[str]) -> list[np.ndarray]:
    """Sorted distinct shingle hashes of each text: the same normalization and shingles as minhash_dedup."""
    out: list[np.ndarray] = []
    for start in range(0, len(texts), 1000):
        normalized = normalize_texts(pa.array(texts[start : start + 1000]), FINEWEB_NORMALIZATION)
        shingles = shingle_hashes(normalized, "word", NGRAM)
        out += [np.unique(shingles.of(i)) for i in range(len(shingles.counts))]
    return out


def similar_pairs(sets: list[np.ndarray], min_similarity: float = MIN_SIMILARITY) -> list[tuple[int, int, float]]:
    """Every pair (i < j) with exact Jaccard >= min_similarity, by prefix filtering: with shingles ordered
    rarest first, two sets that similar share a shingle among the first |x| - ceil(t |x|) + 1 of each."""
    frequency: dict[int, int] = defaultdict(int)
    for shingles in sets:
        for value in shingles.tolist():
            frequency[value] += 1
    index: dict[int, list[int]] = defaultdict(list)
    candidates: set[tuple[int, int]] = set()
    for doc, shingles in enumerate(sets):
        size = len(shingles)
        if size == 0:
            continue
        ordered = sorted(shingles.tolist(), key=lambda v: (frequency[v], v))
        for value in ordered[: size - math.ceil(min_similarity * size) + 1]:
            for other in index[value]:
                candidates.add((other, doc))
            index[value].append(doc)
    pairs = []
    for i, j in sorted(candidates):
        a, b = sets[i], sets[j]
        if min(len(a), len(b)) < min_similarity * max(len(a), len(b)):
            continue
        common = len(np.intersect1d(a, b, assume_unique=True))
        similarity = common / (len(a) + len(b) - common)
        if similarity >= min_similarity:
            pairs.append((i, j, similarity))
    return pairs


def write_files(table: pa.Table, directory: Path, files: int = 8) -> None:
    """`table` as `files` Parquet files, so that Spark reads it in parallel as it would a real dataset."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.parquet"):
        old.unlink()
    step = -(-table.num_rows // files)
    for number, start in enumerate(range(0, table.num_rows, step)):
        pq.write_table(table.slice(start, step), directory / f"part-{number:03d}.parquet")


def benchmark_files(rebuild: bool = False) -> tuple[Path, Path]:
    """(corpus directory of Parquet files, ground-truth pairs parquet), built once under build/bench/dedup."""
    corpus, pairs = BUILD / "corpus", BUILD / "pairs.parquet"
    if corpus.exists() and pairs.exists() and not rebuild:
        return corpus, pairs
    BUILD.mkdir(parents=True, exist_ok=True)
    docs = build_corpus()
    write_files(pa.Table.from_pylist(docs), corpus)
    found = similar_pairs(shingle_sets([str(d["text"]) for d in docs]))
    ids = [d["doc_id"] for d in docs]
    pq.write_table(
        pa.table(
            {
                "first": [ids[i] for i, _, _ in found],
                "second": [ids[j] for _, j, _ in found],
                "jaccard": [s for _, _, s in found],
            }
        ),
        pairs,
    )
    return corpus, pairs
