"""Per-Python-worker caches for models, lists and tokenizers: loaded once per worker, never pickled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_WORKER_RESOURCES: dict[str, Any] = {}


def worker_resource(key: str, factory: Callable[[], T]) -> T:
    """The cached value for `key`, made by `factory` on first use in this Python process."""
    cached = _WORKER_RESOURCES.get(key)
    if cached is None:
        cached = factory()
        _WORKER_RESOURCES[key] = cached
    return cached
