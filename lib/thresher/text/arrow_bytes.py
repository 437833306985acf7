"""The bytes behind an Arrow string or binary array, for numpy work on all of its values at once."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def value_bytes(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(the values' bytes, concatenated, as uint8; int64 offsets into them, from 0, one more than values): value i
    is `data[offsets[i]:offsets[i + 1]]`; a null value spans no bytes. Zero-copy but for the offsets."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type):
        offset_type = np.int64
    elif pa.types.is_string(values.type) or pa.types.is_binary(values.type):
        offset_type = np.int32
    else:
        raise TypeError(f"needs a string or binary array, not {values.type}")
    if len(values) == 0:
        return np.zeros(0, dtype=np.uint8), np.zeros(1, dtype=np.int64)
    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[values.offset : values.offset + len(values) + 1]
    offsets = offsets.astype(np.int64)
    first = int(offsets[0])
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, dtype=np.uint8)
    return data[first : int(offsets[-1])], offsets - first
