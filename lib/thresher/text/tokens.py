"""Token counts of an LLM tokenizer: tiktoken BPE rank files and Hugging Face `tokenizer.json` files.

`run.tokenizer` names one local file:

* a tiktoken rank file (`*.tiktoken`, base64 token + rank per line), loaded with
  `tiktoken.load.load_tiktoken_bpe` (no network). A rank file holds no split pattern, so the file is
  recognised by its SHA-256 among the encodings tiktoken pins (r50k_base/GPT-2, p50k_base, cl100k_base,
  o200k_base) and gets that encoding's pattern; an unknown rank file is refused (use its `tokenizer.json`).
* a Hugging Face `tokenizer.json`, loaded with `tokenizers.Tokenizer.from_file`.

Texts are encoded without special tokens (tiktoken's `encode_ordinary`, `add_special_tokens=False`), in
batches, by the Rust encoders; a loaded tokenizer is cached per Python worker. Spark-free.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from thresher.core.resources import worker_resource
from thresher.errors import ConfigError

# The split patterns and special tokens of tiktoken's `tiktoken_ext/openai_public.py` (tiktoken 0.14, MIT),
# keyed by the SHA-256 tiktoken pins for each rank file. A test checks them against tiktoken's own definitions.
_R50K_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|"""
    r"""\s+(?!\S)|\s"""
)
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)


@dataclass(frozen=True)
class KnownEncoding:
    name: str
    pattern: str
    special_tokens: dict[str, int]
    explicit_n_vocab: int | None = None


KNOWN_RANK_FILES: dict[str, KnownEncoding] = {
    "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930": KnownEncoding(
        "r50k_base", _R50K_PATTERN, {"<|endoftext|>": 50256}, 50257
    ),
    "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069": KnownEncoding(
        "p50k_base", _R50K_PATTERN, {"<|endoftext|>": 50256}, 50281
    ),
    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7": KnownEncoding(
        "cl100k_base",
        _CL100K_PATTERN,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
    "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d": KnownEncoding(
        "o200k_base", _O200K_PATTERN, {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}
    ),
}

TokenizerKind = Literal["tiktoken", "huggingface"]


@dataclass(frozen=True)
class TokenizerFile:
    """A validated tokenizer file: what kind it is, its content hash and (tiktoken) its encoding."""

    path: str
    kind: TokenizerKind
    sha256: str
    name: str

    def describe(self) -> str:
        return f"{self.name} ({self.kind}, {Path(self.path).name}, sha256 {self.sha256[:12]})"


def inspect_tokenizer_file(path: str) -> TokenizerFile:
    """Check that `path` is a tokenizer thresher can load; raises ConfigError saying what to do otherwise."""
    file = Path(path)
    if "://" in path:
        raise ConfigError(
            f"run.tokenizer: {path!r} is a URI; give a local path that every executor can read "
            "(a shared or mounted file system, e.g. /dbfs/...)"
        )
    if not file.is_file():
        raise ConfigError(f"run.tokenizer: {path!r} is not a file; give a .tiktoken rank file or a tokenizer.json")
    data = file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if data.lstrip()[:1] == b"{":
        _check_huggingface(path)
        return TokenizerFile(path, "huggingface", digest, file.name)
    known = KNOWN_RANK_FILES.get(digest)
    if known is None:
        raise ConfigError(
            f"run.tokenizer: {path!r} is neither a tokenizer.json nor a tiktoken rank file thresher knows "
            f"(sha256 {digest[:12]}...; known: {', '.join(k.name for k in KNOWN_RANK_FILES.values())}): a rank "
            "file holds no split pattern; use the tokenizer's tokenizer.json instead"
        )
    _import("tiktoken")  # missing here means missing on the executors too: say so before Spark starts
    return TokenizerFile(path, "tiktoken", digest, known.name)


def _check_huggingface(path: str) -> None:
    tokenizers = _import("tokenizers")
    try:
        tokenizers.Tokenizer.from_file(path)
    except Exception as error:  # the Rust parser raises plain Exceptions
        raise ConfigError(f"run.tokenizer: {path!r} is not a valid tokenizer.json: {error}") from None


def _import(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise ConfigError(f"run.tokenizer needs the {module!r} package: pip install 'thresher[tokens]'") from None


class TokenCounter:
    """Counts tokens of texts in batches with one loaded tokenizer."""

    def __init__(self, file: TokenizerFile) -> None:
        self.file = file
        if file.kind == "tiktoken":
            tiktoken = _import("tiktoken")
            from tiktoken.load import load_tiktoken_bpe

            known = KNOWN_RANK_FILES[file.sha256]
            ranks = load_tiktoken_bpe(file.path, expected_hash=file.sha256)
            self._encoding = tiktoken.Encoding(
                name=known.name,
                pat_str=known.pattern,
                mergeable_ranks=ranks,
                special_tokens=known.special_tokens,
                explicit_n_vocab=known.explicit_n_vocab,
            )
            self._hf = None
        else:
            # The Rust pool would otherwise start a thread per core in each Python worker, and Spark already
            # runs one task per core.
            os.environ.setdefault("RAYON_NUM_THREADS", "1")
            tokenizers = _import("tokenizers")
            self._hf = tokenizers.Tokenizer.from_file(file.path)
            self._encoding = None

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens."""
        if self._encoding is not None:
            return self._encoding.encode_ordinary_batch(list(texts), num_threads=1)
        return [e.ids for e in self._hf.encode_batch(list(texts), add_special_tokens=False)]

    def count(self, texts: Sequence[str | None]) -> np.ndarray:
        """Tokens per text (int64); None counts 0."""
        present = [i for i, t in enumerate(texts) if t]
        counts = np.zeros(len(texts), dtype=np.int64)
        if not present:
            return counts
        chosen = [texts[i] for i in present]
        if self._encoding is not None:
            # One Rust call per text: the batch helper's thread pool costs more than it saves on one core.
            encode = self._encoding.encode_ordinary
            values = [len(encode(t)) for t in chosen]
        else:
            values = [len(e) for e in self._hf.encode_batch_fast(chosen, add_special_tokens=False)]
        counts[present] = values
        return counts


def token_counter(path: str) -> TokenCounter:
    """The TokenCounter of `path`, loaded once per Python worker (the file is checked when first loaded)."""
    return worker_resource(f"thresher.tokens:{path}", lambda: TokenCounter(inspect_tokenizer_file(path)))
