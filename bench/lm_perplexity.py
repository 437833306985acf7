"""n-gram LM perplexity: does a model trained by `thresher train-lm` on good text separate good from bad documents?

    python -m bench.lm_perplexity [--order 5] [--prune 0 0 1] [--references olmo_c4_1000.jsonl ...]

For each reference corpus (default: each of three, then all three together) a model is trained with
`train_lm_from_inputs` (the `train-lm` command's code: Spark counting, 5% of documents held out), then every
document of `dclm_human_quality_499` (272 good, 227 bad by human label) is scored by the `perplexity` stage's code.
Reported: ROC AUC of -perplexity against the label (unsupervised: the LM never sees the labels) next to a
length-only baseline (log LM tokens) and the fastText classifier's supervised 5-fold AUC from the README's table;
the share of good documents in CCNet's head / middle / tail buckets (cut-offs: the 30th and 60th percentiles of
perplexity on the scored set, as CCNet computes them on the data it filters); training wall time (the work runs in
the JVM and its Python workers, so no CPU time is taken here), model size and n-gram counts; and the agreement of
the stage's document scores with KenLM's own query of the same ARPA file (sentence by sentence through
`kenlm.Model.score`). Wall times on the shared 2-core machine with other jobs running are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

from bench._common import SHARED_DATA, write_result

# fastText 5-fold ROC AUC on the same 499 documents (README "Measured", `thresher train-classifier --cv 5`).
FASTTEXT_CV_AUC = 0.867
REFERENCE_CORPORA = ("olmo_c4_1000.jsonl", "aeb_gold_articles_181.jsonl", "dolma_ccnet_head_30.jsonl")
SCORED = "dclm_human_quality_499.jsonl"


def roc_auc(scores: list[float], labels: list[int]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    pairs = sorted(zip(scores, labels, strict=True))
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        average_rank = (i + j + 1) / 2  # 1-based ranks i+1..j
        rank_sum += average_rank * sum(label for _, label in pairs[i:j])
        i = j
    positives = sum(labels)
    negatives = len(labels) - positives
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--order", type=int, default=5)
    parser.add_argument("--prune", type=int, nargs="+", default=[0, 0, 1])
    parser.add_argument(
        "--references",
        nargs="+",
        default=[*REFERENCE_CORPORA, "+".join(REFERENCE_CORPORA)],
        help="reference corpora to train on, one model each; join names with + for one model of several",
    )
    args = parser.parse_args()
    import kenlm

    from thresher.commands.train_lm import LMTrainRequest, train_lm_from_inputs
    from thresher.models.ngram_lm import LMOptions
    from thresher.spark import get_spark
    from thresher.stages.fused import run_row_stages
    from thresher.stages.perplexity import Perplexity, PerplexityParams
    from thresher.text.lm_tokens import document_sentences

    spark = get_spark({"spark.master": "local[2]", "spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4"})
    scored = [json.loads(line) for line in (SHARED_DATA / SCORED).open()]
    labels = [int(d["label"]) for d in scored]
    runs = []
    workdir = Path(tempfile.mkdtemp(prefix="lm_bench_"))
    references = [reference.split("+") for reference in args.references]
    for names in references:
        model_path = workdir / f"{'+'.join(Path(n).stem for n in names)}.arpa"
        request = LMTrainRequest(
            inputs=tuple(str(SHARED_DATA / n) for n in names),
            output=str(model_path),
            options=LMOptions(order=args.order, prune=tuple(args.prune)),
            language="en",
        )
        wall = time.perf_counter()
        summary = train_lm_from_inputs(spark, request)
        wall = time.perf_counter() - wall
        stage = Perplexity(PerplexityParams(models={"en": str(model_path)}))
        started = time.perf_counter()
        rows = [r["perplexity"] for r in run_row_stages([stage], [{"text": d["text"]} for d in scored])]
        score_seconds = time.perf_counter() - started
        model = kenlm.Model(str(model_path))
        largest_difference = 0.0
        for doc, row in zip(scored, rows, strict=True):
            direct = sum(model.score(" ".join(s), bos=True, eos=True) for s in document_sentences(doc["text"]))
            largest_difference = max(largest_difference, abs(direct - row["log_prob"]))
        valid = [i for i, r in enumerate(rows) if r["perplexity"] is not None]
        perplexities = [rows[i]["perplexity"] for i in valid]
        valid_labels = [labels[i] for i in valid]
        cut_30, cut_60 = (sorted(perplexities)[math.ceil(p * len(perplexities)) - 1] for p in (0.3, 0.6))
        buckets = {"head": [], "middle": [], "tail": []}
        for value, label in zip(perplexities, valid_labels, strict=True):
            buckets["head" if value <= cut_30 else "middle" if value <= cut_60 else "tail"].append(label)
        run = {
            "reference": names,
            "train_docs": summary.extra["train_docs"],
            "heldout_docs": summary.extra["heldout"]["docs"],
            "heldout_perplexity_percentiles": summary.extra["heldout"]["perplexity_percentiles"],
            "train_tokens": summary.tokens,
            "vocabulary": summary.vocabulary,
            "ngrams": summary.ngrams,
            "discounts": summary.discounts,
            "train_wall_seconds": round(wall, 1),
            "model_bytes": os.path.getsize(model_path),
            "scored_docs": len(valid),
            "score_seconds": round(score_seconds, 2),
            "score_docs_per_second": round(len(scored) / score_seconds, 1),
            "roc_auc_neg_perplexity": round(roc_auc([-p for p in perplexities], valid_labels), 4),
            "roc_auc_length_baseline": round(roc_auc([math.log(rows[i]["tokens"]) for i in valid], valid_labels), 4),
            "good_share_by_bucket": {k: round(sum(v) / len(v), 3) for k, v in buckets.items() if v},
            "bucket_cutoffs": [cut_30, cut_60],
            "max_abs_log10_difference_vs_kenlm_query": largest_difference,
        }
        runs.append(run)
        print(json.dumps(run, indent=1), flush=True)
    result = {
        "order": args.order,
        "prune": args.prune,
        "scored": SCORED,
        "fasttext_5fold_roc_auc_readme": FASTTEXT_CV_AUC,
        "runs": runs,
        "note": "shared 2-core machine with other jobs running (load average about 40): wall times are upper bounds",
    }
    write_result("lm_perplexity", result)


if __name__ == "__main__":
    main()
