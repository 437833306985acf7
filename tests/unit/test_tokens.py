"""Token counts (`run.tokenizer`): exact equality with tiktoken / tokenizers run directly on the same texts."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA, shared_corpus
from thresher.conf import load_config
from thresher.errors import ConfigError
from thresher.text.tokens import KNOWN_RANK_FILES, TokenCounter, inspect_tokenizer_file

tiktoken = pytest.importorskip("tiktoken")
tokenizers = pytest.importorskip("tokenizers")

TOKENIZERS = SHARED_DATA / "tokenizers"
# Shared rank file -> the name of tiktoken's own definition of that encoding.
RANK_FILES = {
    "cl100k_base.tiktoken": "cl100k_base",
    "o200k_base.tiktoken": "o200k_base",
    "r50k_base_gpt2.tiktoken": "r50k_base",
}


def _tokenizer_file(name: str) -> Path:
    path = TOKENIZERS / name
    if not path.is_file():
        pytest.skip(f"tokenizer {name} not available: {TOKENIZERS} is absent (set THRESHER_SHARED_DATA)")
    return path


def _real_texts() -> list[str]:
    """Real documents in many languages and shapes: web pages, code-like text, UDHR translations."""
    texts = []
    for name in ("dolma_cc_2019_30_raw.jsonl", "olmo_c4_1000.jsonl"):
        with shared_corpus(name).open(encoding="utf-8") as handle:
            texts += [json.loads(line)["text"] for line in handle][:100]
    udhr = SHARED_DATA / "multilingual" / "udhr_all.jsonl.gz"
    if udhr.is_file():
        with gzip.open(udhr, "rt", encoding="utf-8") as handle:
            texts += [json.loads(line)["text"][:3000] for _, line in zip(range(60), handle, strict=False)]
    # Edge cases: special-token text is ordinary text, white space runs, contractions, digits, empty.
    texts += ["<|endoftext|> and <|fim_prefix|>", "  \n\n\t x  ", "I'LL they've WE'D", "1234567 3.14159", ""]
    return texts


def _tiktoken_reference(path: Path, name: str) -> tiktoken.Encoding:
    """tiktoken's own definition of the encoding (pattern, special tokens), loading the local rank file."""
    import tiktoken_ext.openai_public as openai_public
    from tiktoken.load import load_tiktoken_bpe

    def local(_url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        return load_tiktoken_bpe(str(path), expected_hash=expected_hash)

    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = local
    try:
        return tiktoken.Encoding(**openai_public.ENCODING_CONSTRUCTORS[name]())
    finally:
        openai_public.load_tiktoken_bpe = original


@pytest.mark.parametrize("file_name", sorted(RANK_FILES))
def test_tiktoken_rank_files_count_exactly_as_tiktoken(file_name: str) -> None:
    path = _tokenizer_file(file_name)
    reference = _tiktoken_reference(path, RANK_FILES[file_name])
    texts = _real_texts()
    counter = TokenCounter(inspect_tokenizer_file(str(path)))
    expected = [len(ids) for ids in reference.encode_ordinary_batch(texts)]
    assert counter.count(texts).tolist() == expected
    assert counter.encode(texts[:20]) == reference.encode_ordinary_batch(texts[:20])
    assert sum(expected) > 100_000


def test_known_patterns_are_tiktokens_own() -> None:
    import tiktoken_ext.openai_public as openai_public

    seen = {}

    def capture(_url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        seen["hash"] = expected_hash
        return {b"a": 0}

    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = capture
    try:
        for name in ("r50k_base", "p50k_base", "cl100k_base", "o200k_base"):
            definition = openai_public.ENCODING_CONSTRUCTORS[name]()
            known = KNOWN_RANK_FILES[seen["hash"]]
            assert (known.name, known.pattern, known.special_tokens) == (
                name,
                definition["pat_str"],
                definition["special_tokens"],
            )
    finally:
        openai_public.load_tiktoken_bpe = original


def test_huggingface_tokenizer_json_counts_exactly_as_tokenizers() -> None:
    path = _tokenizer_file("dolma_gpt-neo-test-tokenizer.json")
    texts = _real_texts()
    reference = tokenizers.Tokenizer.from_file(str(path))
    expected = [len(e.ids) for e in reference.encode_batch(texts, add_special_tokens=False)]
    file = inspect_tokenizer_file(str(path))
    assert file.kind == "huggingface"
    assert TokenCounter(file).count(texts).tolist() == expected


def _train_tokenizer(directory: Path) -> Path:
    """A small byte-level BPE tokenizer trained here, saved as tokenizer.json."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<eos>"], show_progress=False)
    corpus = [f"document {i} talks about rivers, mountains and the sea; the sea is deep." for i in range(200)]
    tokenizer.train_from_iterator(corpus, trainer)
    path = directory / "tokenizer.json"
    tokenizer.save(str(path))
    return path


def test_generated_tokenizer_json(tmp_path: Path) -> None:
    path = _train_tokenizer(tmp_path)
    texts = ["the sea is deep", "rivers and mountains", "", "unseen wörds ✓ <eos>", "the sea " * 50]
    counter = TokenCounter(inspect_tokenizer_file(str(path)))
    reference = tokenizers.Tokenizer.from_file(str(path))
    counts = counter.count(texts).tolist()
    assert counts == [len(reference.encode(t, add_special_tokens=False).ids) for t in texts]
    assert counts[2] == 0 and counts[0] < len("the sea is deep") and counts[4] > counts[0]


def test_unknown_rank_file_and_broken_files_are_refused(tmp_path: Path) -> None:
    ranks = tmp_path / "mine.tiktoken"
    ranks.write_text("".join(f"{base64.b64encode(bytes([i])).decode()} {i}\n" for i in range(256)))
    with pytest.raises(ConfigError, match=r"tokenizer\.json"):
        inspect_tokenizer_file(str(ranks))
    broken = tmp_path / "tokenizer.json"
    broken.write_text('{"not": "a tokenizer"}')
    with pytest.raises(ConfigError, match=r"not a valid tokenizer\.json"):
        inspect_tokenizer_file(str(broken))
    with pytest.raises(ConfigError, match="not a file"):
        inspect_tokenizer_file(str(tmp_path / "missing.json"))


def test_config_checks_the_tokenizer_before_spark(tmp_path: Path) -> None:
    base = {"input": {"path": str(tmp_path)}, "run": {"output": str(tmp_path / "out")}}
    with pytest.raises(ConfigError, match=r"run\.tokenizer.*not a file"):
        load_config(data={**base, "run": {**base["run"], "tokenizer": "nowhere.json"}})
    budget = {"budget": {"unit": "tokens", "budget": 1000}}
    with pytest.raises(ConfigError, match=r"stages\.budget: counts tokens, which needs run\.tokenizer"):
        load_config(data={**base, "stages": budget})
    path = _train_tokenizer(tmp_path)
    config = load_config(data={**base, "run": {**base["run"], "tokenizer": str(path)}, "stages": budget})
    assert config.run.tokenizer == str(path)
