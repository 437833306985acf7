"""Where a model runs inside a Spark task: the GPU Spark assigned to the task, or the CPU.

On a cluster with GPU scheduling (`spark.executor.resource.gpu.amount`, `spark.task.resource.gpu.amount`),
each task is handed GPU addresses in `TaskContext.resources()["gpu"]`. The addresses are the discovery
script's (physical) ids; when the cluster manager also restricts the process with CUDA_VISIBLE_DEVICES, the
id is mapped to its ordinal among the visible devices.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

DevicePreference = Literal["auto", "cpu", "cuda"]


def task_gpu_addresses() -> list[str]:
    """The GPU addresses Spark assigned to the running task (empty outside a task or without GPU scheduling)."""
    try:
        from pyspark import TaskContext
    except ImportError:
        return []
    context = TaskContext.get()
    if context is None:
        return []
    resource = context.resources().get("gpu")
    return list(resource.addresses) if resource is not None else []


def cuda_ordinal(address: str, visible_devices: str | None) -> int:
    """The torch device index of the GPU with this Spark address."""
    if visible_devices:
        visible = [d.strip() for d in visible_devices.split(",") if d.strip()]
        if address in visible:
            return visible.index(address)
    return int(address)


def choose_device(preference: DevicePreference, gpu_addresses: Sequence[str], cuda_available: bool) -> str:
    """The torch device for a task: its assigned GPU when it has one (unless `cpu` is asked for), any visible
    GPU when `cuda` is asked for without GPU scheduling (local mode on a GPU machine), else the CPU."""
    if preference == "cpu":
        return "cpu"
    if gpu_addresses:
        if not cuda_available:
            raise RuntimeError(
                f"Spark assigned GPU {gpu_addresses[0]} to this task but torch sees no CUDA device: install a "
                "CUDA build of torch on the executors (see README, 'GPU clusters')"
            )
        return f"cuda:{cuda_ordinal(gpu_addresses[0], os.environ.get('CUDA_VISIBLE_DEVICES'))}"
    if preference == "cuda":
        if not cuda_available:
            raise RuntimeError("device: cuda was configured but torch sees no CUDA device on this worker")
        return "cuda"
    return "cpu"


def gpu_batch_size(
    free_bytes: int,
    memory_fraction: float,
    max_seq_length: int,
    hidden_size: int,
    attention_heads: int,
    bytes_per_value: int,
    limit: int = 1024,
) -> int:
    """Sequences per forward pass that fit in `memory_fraction` of the card's free memory.

    Inference keeps one layer's activations alive at a time: per sequence about `seq * hidden * 12` values
    (hidden states, Q/K/V, the 4x feed-forward, outputs) plus `heads * seq * seq` attention scores. A multiple
    of 8 (tensor cores), at least 8, at most `limit` (larger batches no longer add throughput).
    """
    per_sequence = max_seq_length * (12 * hidden_size + attention_heads * max_seq_length) * bytes_per_value
    fitting = int(free_bytes * memory_fraction) // max(per_sequence, 1)
    return max(8, min(limit, fitting) // 8 * 8)
