"""`decontaminate`: recall of planted benchmark items of every length, no false positives on clean text."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA, shared_corpus
from thresher.conf import load_config
from thresher.errors import ConfigError, ThresherError
from thresher.io.benchmarks import read_items
from thresher.stages.decontaminate import CONTAMINATED, Decontaminate, DecontaminateParams, load_index
from thresher.stages.fused import run_row_stages
from thresher.text.decontam import find, words

_VOCABULARY = [
    "apple",
    "river",
    "seven",
    "quietly",
    "orbit",
    "marble",
    "candle",
    "thunder",
    "violet",
    "copper",
    "lantern",
    "meadow",
    "anchor",
    "whisper",
    "glacier",
    "pepper",
    "saddle",
    "quartz",
    "falcon",
    "ember",
    "tundra",
    "velvet",
    "harbor",
    "nimbus",
    "cobalt",
    "juniper",
]


def _items(count: int, seed: int, max_words: int = 40) -> list[str]:
    """Items of every length 1..max_words words (in turn), made of rare word combinations."""
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(_VOCABULARY) + str(rng.randrange(1000)) for _ in range(1 + i % max_words))
        for i in range(count)
    ]


def _write_benchmark(path: Path, items: list[str], gzipped: bool = False) -> None:
    lines = [json.dumps({"question": text, "choices": ["alpha", "beta"], "id": i}) for i, text in enumerate(items)]
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gzipped else data)


def _stage(tmp_path: Path, items: list[str], ngram: int = 13) -> Decontaminate:
    path = tmp_path / "bench.jsonl.gz"
    _write_benchmark(path, items, gzipped=True)
    params = DecontaminateParams.model_validate(
        {"benchmarks": [{"name": "bench", "path": str(path), "fields": ["question", "choices"]}], "ngram": ngram}
    )
    return Decontaminate(params)


def _reformat(text: str, rng: random.Random) -> str:
    """The same words with other case, white space and punctuation."""
    words = text.split()
    out = []
    for word in words:
        word = word.upper() if rng.random() < 0.5 else word.capitalize()
        out.append(word + rng.choice(["", ",", ".", ";", " -"]))
    return rng.choice(["\n", "  ", "\t", " \n "]).join(out)


FILLER = "The committee met on Tuesday to discuss the budget for the coming year and agreed on most points. "


def test_recall_of_planted_items_of_every_length(tmp_path: Path) -> None:
    items = _items(80, seed=1)
    stage = _stage(tmp_path, items)
    rng = random.Random(7)
    docs = []
    for line, item in enumerate(items):
        full = f"{item} alpha beta"
        tokens = full.split()
        docs.append({"text": f"{FILLER}{full} {FILLER}", "want": line})
        docs.append({"text": f"{FILLER * 2}{_reformat(full, rng)} {FILLER}", "want": line})
        if len(tokens) > 13:
            start = rng.randrange(len(tokens) - 13 + 1)
            docs.append({"text": FILLER + " ".join(tokens[start : start + 13]) + " " + FILLER, "want": line})
    results = run_row_stages([stage], [{"text": d["text"]} for d in docs], mode="annotate")
    missed = [d for d, r in zip(docs, results, strict=True) if r["decontaminate"]["keep"]]
    assert not missed, f"{len(missed)} planted items escaped, e.g. {missed[0]['text'][:200]!r}"
    for doc, result in zip(docs, results, strict=True):
        found = result["decontaminate"]
        assert (found["reason"], found["benchmark"], found["item"], found["bench"]) == (
            CONTAMINATED,
            "bench",
            doc["want"],
            True,
        )
        # The span covers the matched words in the document (`matched` is cut to 300 characters).
        assert " ".join(words(doc["text"][found["start"] : found["end"]])).startswith(found["matched"])
        assert len(found["matched"]) > 0


def test_partial_overlap_below_n_words_and_clean_text_are_not_flagged(tmp_path: Path) -> None:
    items = [" ".join(f"{w}{i}" for i, w in enumerate(_VOCABULARY[:30]))]
    stage = _stage(tmp_path, items)
    words = items[0].split()
    clean = [
        {"text": FILLER * 5},
        {"text": " ".join(words[:12]) + " and then something else entirely"},  # 12 < 13 words
        {"text": " ".join(words[5:17][::-1])},  # the words, in another order
        {"text": ""},
    ]
    results = run_row_stages([stage], clean, mode="annotate")
    assert [r["decontaminate"]["keep"] for r in results] == [True] * len(clean)
    assert [r["decontaminate"]["ngrams"] for r in results] == [0] * len(clean)


def test_filter_mode_removes_and_a_short_item_is_found_whole(tmp_path: Path) -> None:
    stage = _stage(tmp_path, ["What is the pH of water?"], ngram=13)
    docs = [{"text": "Quiz: what is the PH of   water? alpha, beta!"}, {"text": "What is the pH of tea? alpha beta"}]
    results = run_row_stages([stage], docs, mode="filter")
    assert results[0]["decontaminate"]["reason"] == CONTAMINATED
    assert results[0]["decontaminate"]["matched"] == "what is the ph of water alpha beta"
    assert results[1]["decontaminate"]["keep"] is True


def test_benchmark_files_are_checked_when_the_config_loads(tmp_path: Path) -> None:
    bench = tmp_path / "b.jsonl"
    bench.write_text('{"question": "q"}\n')
    base = {"input": {"path": str(tmp_path)}, "run": {"output": str(tmp_path / "out")}}

    def stages(spec: dict) -> dict:
        return {**base, "stages": {"decontaminate": {"benchmarks": [spec]}}}

    with pytest.raises(ConfigError, match="no field 'answer'"):
        load_config(data=stages({"name": "b", "path": str(bench), "fields": ["question", "answer"]}))
    with pytest.raises(ConfigError, match=r"decontaminate\.benchmarks"):
        load_config(data=stages({"name": "b", "path": str(tmp_path / "none.jsonl"), "fields": ["question"]}))
    with pytest.raises(ConfigError, match="lower-case"):
        load_config(data=stages({"name": "B-1", "path": str(bench), "fields": ["question"]}))
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(ConfigError, match="holds no item"):
        load_config(data=stages({"name": "b", "path": str(tmp_path / "empty.jsonl"), "fields": ["question"]}))
    config = load_config(data=stages({"name": "b", "path": str(bench), "fields": ["question"]}))
    assert config.stages[0].stage.params.ngram == 13
    bench.write_text('{"question": "q"}\n[1, 2]\n')
    with pytest.raises(ThresherError, match="line 1: not a JSON object"):
        list(read_items(str(bench), ["question"]))


REAL_BENCHMARKS = [
    ("gsm8k", "gsm8k/test.jsonl", ["question", "answer"]),
    ("humaneval", "humaneval/HumanEval.jsonl.gz", ["prompt", "canonical_solution"]),
    ("mmlu", "mmlu/mmlu_test.jsonl.gz", ["question", "choices"]),
]


@pytest.fixture(scope="module")
def real_index():
    root = SHARED_DATA / "benchmarks"
    if not root.is_dir():
        pytest.skip(f"real benchmarks not available: {root} is absent (set THRESHER_SHARED_DATA)")
    params = DecontaminateParams.model_validate(
        {"benchmarks": [{"name": n, "path": str(root / p), "fields": f} for n, p, f in REAL_BENCHMARKS]}
    )
    return params, load_index(params)


CLEAN_CORPORA = [
    "dolma_cc_2019_30_raw.jsonl",
    "olmo_c4_1000.jsonl",
    "dclm_human_quality_499.jsonl",
    "aeb_gold_articles_181.jsonl",
    "dolma_ccnet_head_30.jsonl",
]


def test_no_false_positives_on_the_clean_shared_corpora(real_index) -> None:
    _, index = real_index
    flagged, total = [], 0
    for name in CLEAN_CORPORA:
        with shared_corpus(name).open(encoding="utf-8") as handle:
            for line in handle:
                text = json.loads(line)["text"]
                total += 1
                match = find(index, text)
                if match is not None:
                    flagged.append((name, match))
    assert total > 2400
    assert not flagged, flagged[:3]


def test_recall_on_real_benchmark_items_planted_in_real_documents(real_index) -> None:
    params, index = real_index
    rng = random.Random(3)
    with shared_corpus("olmo_c4_1000.jsonl").open(encoding="utf-8") as handle:
        hosts = [json.loads(line)["text"] for line in handle][:300]
    planted = 0
    for spec in params.benchmarks:
        items = list(read_items(spec.path, spec.fields))
        for line, text in rng.sample(items, 40) + sorted(items, key=lambda item: len(item[1]))[:10]:
            host = rng.choice(hosts)
            cut = len(host) // 2
            for variant in (text, _reformat(text, rng)):
                match = find(index, f"{host[:cut]}\n{variant}\n{host[cut:]}")
                planted += 1
                assert match is not None and spec.name in match.benchmarks, (spec.name, line, variant[:200])
    assert planted == 300
