"""Where a document's Python time goes in web_en: CPU milliseconds per document of each row stage and of refine's
per-document preparation, in one process, without Spark.

    python -m bench.row_costs [--docs 4000] [--rounds 3]

The documents: `--docs` distinct documents generated from the shared real corpora (bench/pipeline_corpus.py, the
generator of the scaling benchmark; ~4.5 KB each). Each stage runs alone over all of them, best of `--rounds`, each
round with new word splitters (a piece of text is split once per round, as in a worker that sees these documents);
`fused` is the six row stages of the rules' pass together as Spark runs them (words and lines computed once for
all), in filter mode; `lid_per_batch` and `lid_fasttext_predict` are the language stage's prediction alone,
thresher's per-batch computation against fastText's own `predict` (the baseline) on the same cleaned texts in
batches of 1,000. Writes bench/results/row_costs.json.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from typing import Any

from bench._common import ROOT, machine, write_result
from bench.pipeline_corpus import real_documents, scaled_documents


def _best_cpu_ms_per_document(work: Callable[[], Any], documents: int, rounds: int) -> float:
    from thresher.text.words import _splitter, word_splitter

    best = float("inf")
    for _ in range(rounds):
        # New word splitters each round: a piece is split once per round, as in a worker seeing these documents.
        word_splitter.cache_clear()
        _splitter.cache_clear()
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best / documents * 1e3


def refine_preparation(docs: list[dict[str, Any]]) -> Callable[[], Any]:
    """refine's per-document work before the corpus-wide line counts: its `_Prepare` over one Arrow batch."""
    import pyarrow as pa
    from pyspark.sql.types import StringType, StructField, StructType

    from thresher.stages.quality.refine import RefineParams, _Prepare, prepared_fields

    batch = pa.RecordBatch.from_pylist([{"doc_id": d["doc_id"], "text": d["text"]} for d in docs])
    schema = prepared_fields(StructType([StructField("doc_id", StringType()), StructField("text", StringType())]))
    prepare = _Prepare(RefineParams(), schema)
    return lambda: list(prepare(iter([batch])))


def language_id(docs: list[dict[str, Any]], native: bool) -> Callable[[], Any]:
    """The language stage's prediction over batches of 1,000 cleaned texts: thresher's per-batch computation
    (`thresher.models.fasttext_batch`) or fastText's own `predict`, the baseline, on the same model file."""
    from thresher.stages.quality.language import _Model, bundled_model_path

    model = _Model(bundled_model_path())
    lines = [" ".join(d["text"].split()) for d in docs]
    batches = [[line for line in lines[i : i + 1000] if line] for i in range(0, len(lines), 1000)]
    if native:
        return lambda: [model._model.predict(batch, k=1) for batch in batches]
    return lambda: [model._batched.predict(batch) for batch in batches]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from thresher.conf import load_config
    from thresher.stages.base import RowStage
    from thresher.stages.fused import run_row_stages

    generated = itertools.islice(scaled_documents(real_documents(), args.docs, seed=5), args.docs)
    docs = [{"doc_id": d["id"], "text": d["text"], "url": d["url"]} for d in generated]
    config = load_config(ROOT / "conf" / "web_en.yaml")
    stages = [s.stage for s in config.stages if isinstance(s.stage, RowStage)]
    run_row_stages(stages, docs[:100], mode="annotate")  # models loaded, patterns compiled
    costs: dict[str, float] = {}
    for stage in stages:
        costs[stage.id] = _best_cpu_ms_per_document(
            lambda stage=stage: run_row_stages([stage], docs, mode="annotate"), len(docs), args.rounds
        )
    rules = [s for s in stages if s.id != "pii"]  # pii runs after the global stages, in a pass of its own
    costs["fused"] = _best_cpu_ms_per_document(
        lambda: run_row_stages(rules, docs, mode="filter"), len(docs), args.rounds
    )
    costs["refine_preparation"] = _best_cpu_ms_per_document(refine_preparation(docs), len(docs), args.rounds)
    for name, native in (("lid_per_batch", False), ("lid_fasttext_predict", True)):
        costs[name] = _best_cpu_ms_per_document(language_id(docs, native), len(docs), args.rounds)
    mean_chars = sum(len(d["text"]) for d in docs) / len(docs)
    for name, value in costs.items():
        print(f"{name:20s} {value:6.3f} CPU ms per document")
    lid_ratio = costs["lid_fasttext_predict"] / costs["lid_per_batch"]
    print(f"language ID per batch: {lid_ratio:.2f}x less CPU than fastText's own predict")
    path = write_result(
        "row_costs",
        {"documents": len(docs), "mean_chars": mean_chars, "cpu_ms_per_document": costs, "machine": machine()},
    )
    print(f"{len(docs):,} distinct documents, {mean_chars:,.0f} characters on average; wrote {path}")


if __name__ == "__main__":
    main()
