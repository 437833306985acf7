"""Parameters shared by the model-based stages."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from pydantic import Field, ValidationInfo, model_validator

from thresher.models.classifier import Kind, check_classifier, read_info
from thresher.models.device import DevicePreference
from thresher.models.encoder import MISSING_EXTRA, EncoderRuntime
from thresher.stages.base import StageParams


def require_modules(*modules: str) -> None:
    """Fail at config time, not inside Spark, when the `models` extra is missing."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ValueError(f"{MISSING_EXTRA} (missing: {', '.join(missing)})")


def resolve_model_name(value: str, info: ValidationInfo) -> str:
    """A model is a name (`sentence-transformers/all-MiniLM-L6-v2`) or a directory; a relative directory that
    exists beside the config file is resolved against it, anything else is left as written."""
    base_dir = (info.context or {}).get("base_dir")
    if base_dir and not Path(value).is_absolute() and (Path(base_dir) / value).is_dir():
        return str((Path(base_dir) / value).resolve())
    return value


def required_classifier(value: str | None, kind: Kind) -> str:
    if value is None:
        raise ValueError(f"required: the directory of a {kind} classifier trained by `thresher train-classifier`")
    check_classifier(value, kind)
    return value


def fingerprint_with_model(stage_fingerprint: str, classifier: str | None) -> str:
    """A stage fingerprint that also changes when the classifier's files are retrained in place (resume)."""
    if classifier is None:
        return stage_fingerprint
    digest = read_info(classifier).get("model_sha256", "")
    return hashlib.sha256(f"{stage_fingerprint}:{digest}".encode()).hexdigest()[:16]


class EncoderRuntimeParams(StageParams):
    """Where embeddings are computed; see README 'GPU clusters'."""

    # auto: the GPU Spark assigned to the task (spark.task.resource.gpu.amount), else CPU; cuda: any visible GPU.
    device: DevicePreference = "auto"
    # Sequences per forward pass; null: 32 on CPU, sized from the GPU's free memory.
    batch_size: int | None = Field(default=None, gt=0)
    # Half precision on GPU (ignored on CPU).
    fp16: bool = True
    # Share of the GPU's free memory one task's batches may use; with N tasks per GPU keep it below 1/N.
    gpu_memory_fraction: float = Field(default=0.25, gt=0, le=1)
    # torch threads per Python worker on CPU (Spark runs one worker per core).
    torch_threads: int = Field(default=1, gt=0)

    def runtime(self) -> EncoderRuntime:
        return EncoderRuntime(self.device, self.batch_size, self.fp16, self.gpu_memory_fraction, self.torch_threads)

    @model_validator(mode="after")
    def _models_extra_installed(self) -> EncoderRuntimeParams:
        require_modules("torch", "sentence_transformers")
        return self
