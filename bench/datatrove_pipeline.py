"""The reference side of bench/pipeline_speed.py: datatrove 0.10.1's pipeline closest to conf/web_en.yaml.
Runs in the benchmark venv where datatrove is installed (never in thresher's own venv):

    /path/to/datatrove-venv/bin/python bench/datatrove_pipeline.py IN_DIR WORK_DIR LID_MODEL [--workers 2]

Steps, each a LocalPipelineExecutor with `workers` processes and as many tasks (the MinHash buckets step: one
task per bucket), in web_en's order: filters (LanguageFilter on LID_MODEL, a local fastText file, threshold
0.65; GopherRepetition, GopherQuality, C4Quality, FineWebQuality; FTFYFormatter), URL dedup and exact dedup
(datatrove 0.10's ExactDedup on the URL, then on the text: signatures, find duplicates, filter), MinHash dedup
(signatures, buckets, clusters, filter; 5-gram words, 14 buckets x 8 hashes) and PIIFormatter on the kept
documents. Writes WORK_DIR/summary.json: documents out, wall seconds per step.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import (
    ExactDedupConfig,
    ExactDedupFilter,
    ExactDedupSignature,
    ExactFindDedups,
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
    LanguageFilter,
)
from datatrove.pipeline.formatters import FTFYFormatter, PIIFormatter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils import lid


class LocalFT176(lid.FT176LID):
    """datatrove downloads lid.176.bin; the benchmark gives it the same local model file thresher uses."""

    def __init__(self, languages: list[str], path: str) -> None:
        super().__init__(languages)
        self.path = path

    @property
    def model(self):
        if self._model is None:
            from fasttext.FastText import _FastText

            self._model = _FastText(self.path)
        return self._model


def language_filter(model: str) -> LanguageFilter:
    step = LanguageFilter(languages=["en"], language_threshold=0.65)
    step.model = LocalFT176(["en"], model)
    return step


def url_or_id(doc) -> bytes:
    """URL dedup as datatrove 0.10 writes it: exact dedup on the URL (a document without one is unique)."""
    return (doc.metadata.get("url") or f"no-url:{doc.id}").encode()


def text(doc) -> bytes:
    return doc.text.encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("work")
    parser.add_argument("model")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = Path(args.work)
    workers = args.workers
    minhash = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8)
    url_config = ExactDedupConfig(content_getter=url_or_id)
    text_config = ExactDedupConfig(content_getter=text)
    steps: dict[str, tuple[list, int]] = {
        "filters": (
            [
                JsonlReader(args.input, glob_pattern="*.jsonl", id_key="id"),
                language_filter(args.model),
                GopherRepetitionFilter(),
                GopherQualityFilter(),
                C4QualityFilter(),
                FineWebQualityFilter(),
                FTFYFormatter(),
                JsonlWriter(str(work / "filtered")),
            ],
            workers,
        ),
        "url_signatures": (
            [JsonlReader(str(work / "filtered")), ExactDedupSignature(str(work / "url_sigs"), url_config)],
            workers,
        ),
        "url_find": ([ExactFindDedups(str(work / "url_sigs"), str(work / "url_dups"), url_config)], 1),
        "url_filter": (
            [
                JsonlReader(str(work / "filtered")),
                ExactDedupFilter(str(work / "url_dups"), url_config),
                JsonlWriter(str(work / "url_deduped")),
            ],
            workers,
        ),
        "exact_signatures": (
            [JsonlReader(str(work / "url_deduped")), ExactDedupSignature(str(work / "text_sigs"), text_config)],
            workers,
        ),
        "exact_find": ([ExactFindDedups(str(work / "text_sigs"), str(work / "text_dups"), text_config)], 1),
        "exact_filter": (
            [
                JsonlReader(str(work / "url_deduped")),
                ExactDedupFilter(str(work / "text_dups"), text_config),
                JsonlWriter(str(work / "exact_deduped")),
            ],
            workers,
        ),
        "minhash_signatures": (
            [
                JsonlReader(str(work / "exact_deduped")),
                MinhashDedupSignature(output_folder=str(work / "mh_sigs"), config=minhash),
            ],
            workers,
        ),
        "minhash_buckets": (
            [
                MinhashDedupBuckets(
                    input_folder=str(work / "mh_sigs"), output_folder=str(work / "mh_buckets"), config=minhash
                )
            ],
            minhash.num_buckets,
        ),
        "minhash_clusters": (
            [
                MinhashDedupCluster(
                    input_folder=str(work / "mh_buckets"), output_folder=str(work / "mh_ids"), config=minhash
                )
            ],
            1,
        ),
        "minhash_filter_pii": (
            [
                JsonlReader(str(work / "exact_deduped")),
                MinhashDedupFilter(input_folder=str(work / "mh_ids")),
                PIIFormatter(),
                JsonlWriter(str(work / "kept")),
            ],
            workers,
        ),
    }
    seconds: dict[str, float] = {}
    for step, (pipeline, tasks) in steps.items():
        started = time.perf_counter()
        LocalPipelineExecutor(
            pipeline=pipeline,
            tasks=tasks,
            workers=min(workers, tasks),
            logging_dir=str(work / "logs" / step),
            skip_completed=False,
        ).run()
        seconds[step] = time.perf_counter() - started
    documents_out = 0
    import gzip

    for path in (work / "kept").glob("*"):
        with gzip.open(path, "rt") if path.suffix == ".gz" else path.open() as handle:
            documents_out += sum(1 for _ in handle)
    summary = {"documents_out": documents_out, "step_wall_seconds": seconds}
    (work / "summary.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
