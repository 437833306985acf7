"""Token counting and benchmark decontamination, per core, on the shared corpora (no Spark: the executor code).

* Tokens: thresher's `TokenCounter` (what each Spark task runs on its Arrow batches) against tiktoken /
  tokenizers run directly on the same texts (tiktoken's `encode_ordinary_batch` with tiktoken's own encoding
  definition; `Tokenizer.encode_batch` for tokenizer.json). Counts must be equal; speed is tokens per
  CPU-second (process time, so other load on the machine does not count).
* Decontamination: GSM8K test + HumanEval + MMLU test indexed (13-grams); documents per CPU-second over the
  clean corpora (each document once: distinct documents), false positives on them, and recall of benchmark items
  planted in real documents: whole, a window of exactly 13 consecutive words of a longer item (the threshold),
  and reformatted (case, white space, punctuation).

Writes bench/results/tokens_decontam.json. Run from the repository root: `python -m bench.tokens_decontam`.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

from bench._common import SHARED_DATA, write_result
from thresher.io.benchmarks import read_items
from thresher.stages.decontaminate import DecontaminateParams, load_index
from thresher.text.decontam import find, word_spans, words
from thresher.text.tokens import TokenCounter, inspect_tokenizer_file

CORPORA = (
    "dolma_cc_2019_30_raw.jsonl",
    "olmo_c4_1000.jsonl",
    "dclm_human_quality_499.jsonl",
    "aeb_gold_articles_181.jsonl",
    "dolma_ccnet_head_30.jsonl",
)
RANK_FILES = {
    "cl100k_base.tiktoken": "cl100k_base",
    "o200k_base.tiktoken": "o200k_base",
    "r50k_base_gpt2.tiktoken": "r50k_base",
}
HF_FILE = "dolma_gpt-neo-test-tokenizer.json"
BENCHMARKS = [
    ("gsm8k", "gsm8k/test.jsonl", ["question", "answer"]),
    ("humaneval", "humaneval/HumanEval.jsonl.gz", ["prompt", "canonical_solution"]),
    ("mmlu", "mmlu/mmlu_test.jsonl.gz", ["question", "choices"]),
]


def _texts() -> list[str]:
    texts = []
    for name in CORPORA:
        with (SHARED_DATA / name).open(encoding="utf-8") as handle:
            texts += [json.loads(line)["text"] for line in handle]
    return texts


def _cpu(fn: Any, repeat: int) -> tuple[float, Any]:
    started = time.process_time()
    for _ in range(repeat):
        value = fn()
    return (time.process_time() - started) / repeat, value


def _tiktoken_reference(path: Path, name: str) -> Any:
    import tiktoken
    import tiktoken_ext.openai_public as openai_public
    from tiktoken.load import load_tiktoken_bpe

    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = lambda _url, expected_hash=None: load_tiktoken_bpe(str(path), expected_hash)
    try:
        return tiktoken.Encoding(**openai_public.ENCODING_CONSTRUCTORS[name]())
    finally:
        openai_public.load_tiktoken_bpe = original


def bench_tokens(texts: list[str], repeat: int) -> dict[str, Any]:
    import tokenizers

    results = {}
    folder = SHARED_DATA / "tokenizers"
    for file_name in [*RANK_FILES, HF_FILE]:
        path = folder / file_name
        counter = TokenCounter(inspect_tokenizer_file(str(path)))
        ours_seconds, ours = _cpu(lambda c=counter: c.count(texts), repeat)
        if file_name in RANK_FILES:
            reference = _tiktoken_reference(path, RANK_FILES[file_name])
            direct = lambda r=reference: [len(ids) for ids in r.encode_ordinary_batch(texts)]  # noqa: E731
        else:
            reference = tokenizers.Tokenizer.from_file(str(path))
            direct = lambda r=reference: [len(e.ids) for e in r.encode_batch(texts, add_special_tokens=False)]  # noqa: E731
        direct_seconds, expected = _cpu(direct, repeat)
        tokens = int(sum(expected))
        results[file_name] = {
            "docs": len(texts),
            "tokens": tokens,
            "equal": ours.tolist() == expected,
            "thresher_tokens_per_cpu_second": tokens / ours_seconds,
            "direct_tokens_per_cpu_second": tokens / direct_seconds,
            "thresher_vs_direct": direct_seconds / ours_seconds,
        }
        print(file_name, json.dumps(results[file_name]), flush=True)
    return results


def _reformat(text: str, rng: random.Random) -> str:
    out = []
    for word in text.split():
        word = word.upper() if rng.random() < 0.5 else word.lower()
        out.append(word + rng.choice(["", ",", ";", " -"]))
    return rng.choice(["\n", "  ", "\t "]).join(out)


def bench_decontamination(texts: list[str], planted_per_benchmark: int) -> dict[str, Any]:
    root = SHARED_DATA / "benchmarks"
    params = DecontaminateParams.model_validate(
        {"benchmarks": [{"name": n, "path": str(root / p), "fields": f} for n, p, f in BENCHMARKS]}
    )
    build_seconds, index = _cpu(lambda: load_index(params), 1)
    scan_seconds, matches = _cpu(lambda: [find(index, t) for t in texts], 1)
    false_positives = [(i, m.benchmark, m.item, m.matched) for i, m in enumerate(matches) if m is not None]
    rng = random.Random(11)
    recall: dict[str, dict[str, Any]] = {}
    for spec in params.benchmarks:
        items = list(read_items(spec.path, spec.fields))
        chosen = rng.sample(items, min(planted_per_benchmark, len(items)))
        chosen += sorted(items, key=lambda item: len(words(item[1])))[:20]  # the shortest items too
        variants: dict[str, list[bool]] = {"whole": [], "window_13": [], "reformatted": []}
        for _line, text in chosen:
            host = rng.choice(texts)
            cut = len(host) // 2
            spans = word_spans(text)
            planted = {"whole": text, "reformatted": _reformat(text, rng)}
            if len(spans) > 13:
                # Exactly 13 consecutive words of the item, cut from its text as it is (symbols in between).
                start = rng.randrange(len(spans) - 13)
                planted["window_13"] = text[spans[start][0] : spans[start + 12][1]]
            for kind, variant in planted.items():
                match = find(index, f"{host[:cut]}\n{variant}\n{host[cut:]}")
                variants[kind].append(match is not None and spec.name in match.benchmarks)
        recall[spec.name] = {k: {"planted": len(v), "found": sum(v)} for k, v in variants.items()}
    chars = sum(len(t) for t in texts)
    return {
        "benchmarks": {
            n: {"items": index.items[i], "short_items": index.short_items[i]} for i, n in enumerate(index.names)
        },
        "index_grams": index.size,
        "index_build_cpu_seconds": build_seconds,
        "docs": len(texts),
        "docs_per_cpu_second": len(texts) / scan_seconds,
        "mb_per_cpu_second": chars / scan_seconds / 1e6,
        "false_positives": len(false_positives),
        "false_positive_examples": false_positives[:5],
        "recall": recall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=2, help="token counting passes over the corpora")
    parser.add_argument("--planted", type=int, default=300, help="random items planted per benchmark")
    args = parser.parse_args()
    texts = _texts()
    result = {
        "note": "CPU time of one process (per core); the machine was shared with other work",
        "tokens": bench_tokens(texts, args.repeat),
        "decontamination": bench_decontamination(texts, args.planted),
    }
    print(json.dumps(result["decontamination"], indent=1))
    write_result("tokens_decontam", result)


if __name__ == "__main__":
    main()
