"""Device choice for a Spark task and GPU batch sizing (no GPU needed)."""

from __future__ import annotations

import pytest

from thresher.models.device import choose_device, cuda_ordinal, gpu_batch_size, task_gpu_addresses


def test_a_task_with_a_gpu_uses_it_unless_cpu_is_asked_for(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert choose_device("auto", ["3"], cuda_available=True) == "cuda:3"
    assert choose_device("cuda", ["1"], cuda_available=True) == "cuda:1"
    assert choose_device("cpu", ["1"], cuda_available=True) == "cpu"


def test_without_gpu_scheduling_auto_is_cpu_and_cuda_any_visible_gpu():
    assert choose_device("auto", [], cuda_available=True) == "cpu"
    assert choose_device("cuda", [], cuda_available=True) == "cuda"
    with pytest.raises(RuntimeError, match="no CUDA device"):
        choose_device("cuda", [], cuda_available=False)
    with pytest.raises(RuntimeError, match="assigned GPU 0"):
        choose_device("auto", ["0"], cuda_available=False)


def test_spark_gpu_address_maps_to_its_ordinal_among_visible_devices():
    assert cuda_ordinal("5", None) == 5
    assert cuda_ordinal("5", "4,5") == 1
    assert cuda_ordinal("0", "0") == 0
    # An address the visible list does not name is already an ordinal.
    assert cuda_ordinal("1", "GPU-aaaa,GPU-bbbb") == 1


def test_outside_a_spark_task_there_is_no_gpu_assignment():
    assert task_gpu_addresses() == []


def test_gpu_batch_size_grows_with_memory_and_shrinks_with_sequence_length():
    gib = 1 << 30
    small = gpu_batch_size(8 * gib, 0.25, 256, 384, 12, 2)
    large = gpu_batch_size(80 * gib, 0.25, 256, 384, 12, 2, limit=100_000)
    longer = gpu_batch_size(8 * gib, 0.25, 512, 384, 12, 2)
    assert small % 8 == 0 and large % 8 == 0
    assert large > small > longer >= 8
    assert gpu_batch_size(80 * gib, 1.0, 128, 384, 12, 2) == 1024  # capped
    assert gpu_batch_size(1 << 20, 0.1, 512, 4096, 32, 4) == 8  # floor
