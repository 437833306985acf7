"""Training-ready output through a real run: `tokens` on every output row, tokens in stats, the report and the
console summary, `decontaminate` removing planted benchmark items, `score_buckets` and a token `budget`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from tests.conftest import shared_corpus
from thresher.conf import load_config
from thresher.io.delta import DeltaStore
from thresher.runner import run_pipeline
from thresher.summary import print_summary
from thresher.text.tokens import TokenCounter, inspect_tokenizer_file

pytestmark = pytest.mark.spark
tokenizers = pytest.importorskip("tokenizers")

BUDGET = 40_000


def _tokenizer(directory: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=600, show_progress=False)
    tokenizer.train_from_iterator([f"the {w} of a page about {w}s" for w in ("river", "town", "game")] * 50, trainer)
    path = directory / "tokenizer.json"
    tokenizer.save(str(path))
    return path


def test_tokens_decontamination_and_score_buckets_in_a_run(spark, tmp_path):
    source = shared_corpus("dclm_human_quality_499.jsonl")
    rows = [json.loads(line) for line in source.open(encoding="utf-8")][:100]
    items = [
        "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.",
        "What is the pH of water?",
    ]
    (tmp_path / "bench.jsonl").write_text("".join(json.dumps({"question": q, "answer": "42"}) + "\n" for q in items))
    # Planted: a whole long item reformatted, and a short item whole, in two real documents.
    rows[3]["text"] += "\n\nNATALIA sold clips to 48 of her   friends in april; and then she sold half as many"
    rows[7]["text"] = "Quiz time. what is the PH of water? 42\n" + rows[7]["text"]
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text(
        "".join(json.dumps({"id": str(i), "text": r["text"], "label": r["label"]}) + "\n" for i, r in enumerate(rows))
    )
    tokenizer = _tokenizer(tmp_path)
    out = tmp_path / "out"
    config = load_config(
        data={
            "run": {"output": str(out), "tokenizer": str(tokenizer)},
            "input": {"path": str(corpus), "fields": {"meta": ["label"]}},
            "stages": {
                "normalize": {},
                "decontaminate": {
                    "benchmarks": [
                        {"name": "quiz", "path": str(tmp_path / "bench.jsonl"), "fields": ["question", "answer"]}
                    ]
                },
                "score_buckets": {"scores": {"normalize.chars_after": 1.0}, "buckets": 5},
                "budget": {"unit": "tokens", "budget": BUDGET, "scores": {"score_buckets.bucket": 1.0}},
            },
        }
    )
    result = run_pipeline(config, spark)
    store = DeltaStore(spark, "delta-rs")
    kept = store.read(str(out / "kept")).toPandas()
    excluded = store.read(str(out / "excluded")).toPandas()
    counter = TokenCounter(inspect_tokenizer_file(str(tokenizer)))

    # tokens: every output row, the text as the run left it, exactly as the tokenizer counts it.
    for frame in (kept, excluded):
        assert frame["tokens"].tolist() == counter.count(frame["text"].tolist()).tolist()
    assert list(kept.columns).index("tokens") == list(kept.columns).index("origin") + 1

    # decontaminate: the two planted documents, and no other.
    contaminated = excluded[excluded["stage"] == "decontaminate"]
    assert sorted(contaminated["doc_id"]) == ["3", "7"]
    found = {r["doc_id"]: r["decontaminate"] for _, r in contaminated.iterrows()}
    assert (found["3"]["benchmark"], found["3"]["item"], found["7"]["item"]) == ("quiz", 0, 1)
    assert set(contaminated["reason"]) == {"contaminated"}

    # stats: tokens in/out per stage, conserved between stages; the budget counted tokens.
    stats = {r["stage"]: r for r in result.stats}
    assert stats["ingest"]["tokens_in"] == sum(counter.count([r["text"] for r in rows]))
    assert stats["decontaminate"]["tokens_in"] == stats["normalize"]["tokens_out"]
    assert stats["budget"]["tokens_out"] == kept["tokens"].sum() <= BUDGET
    assert stats["budget"]["tokens_in"] == stats["score_buckets"]["tokens_out"] > BUDGET
    assert json.loads(stats["decontaminate"]["signals"])["signals"]["quiz"]["values"]["true"]["count"] == 2

    # score buckets: 1..5, ordered by score, each holding about a fifth of the tokens.
    buckets = json.loads(stats["score_buckets"]["signals"])["details"]["buckets"]
    assert list(buckets) == ["1", "2", "3", "4", "5"]
    total = sum(b["tokens"] for b in buckets.values())
    for left, right in zip(list(buckets.values()), list(buckets.values())[1:], strict=False):
        assert left["max_score"] <= right["min_score"]
    assert all(abs(b["tokens"] / total - 0.2) < 0.08 for b in buckets.values())
    chosen = kept["score_buckets"].apply(lambda s: s["bucket"])
    assert chosen.min() >= excluded[excluded["stage"] == "budget"]["score_buckets"].apply(lambda s: s["bucket"]).max()

    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Benchmark contamination" in report and "tokenizer tokens per stage" in report
    summary = io.StringIO()
    print_summary(result, summary)
    assert "tokens out" in summary.getvalue() and f"{int(kept['tokens'].sum()):,}" in summary.getvalue()
    assert store.read(str(out / "kept")).where(F.col("tokens") <= 0).count() == 0
