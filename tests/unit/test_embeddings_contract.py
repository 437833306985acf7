"""The `embed` column contract helpers (numpy + Arrow only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from thresher.models.embeddings import (
    EMBED,
    EMBED_SIGNAL_FIELDS,
    embed_vectors,
    l2_normalize,
    vectors_from_arrow,
    vectors_from_pandas,
    vectors_to_arrow,
)


def test_vectors_round_trip_through_arrow_with_null_rows():
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3)
    arrow = vectors_to_arrow(matrix)
    assert arrow.type == pa.list_(pa.float32())
    with_null = pa.array([arrow[0].as_py(), None, arrow[2].as_py(), arrow[3].as_py()], pa.list_(pa.float32()))
    out, valid = vectors_from_arrow(with_null)
    assert valid.tolist() == [True, False, True, True]
    assert out.dtype == np.float32 and out.shape == (4, 3)
    assert out[1].tolist() == [0.0, 0.0, 0.0]
    assert out[3].tolist() == [9.0, 10.0, 11.0]


def test_vectors_from_a_struct_column_of_a_batch_and_from_pandas():
    struct = pa.StructArray.from_arrays(
        [
            pa.array([True, True]),
            pa.array([None, None], pa.string()),
            pa.array([[0.6, 0.8], [1.0, 0.0]], pa.list_(pa.float32())),
            pa.array(["m", "m"]),
            pa.array([2, 2], pa.int32()),
            pa.array([1, 3], pa.int32()),
        ],
        names=["keep", "reason", *(f.name for f in EMBED_SIGNAL_FIELDS)],
    )
    batch = pa.RecordBatch.from_arrays([pa.array(["a", "b"]), struct], names=["doc_id", EMBED])
    matrix, valid = embed_vectors(batch)
    assert valid.all() and np.allclose(matrix, [[0.6, 0.8], [1.0, 0.0]])
    frame = batch.to_pandas()
    from_pandas, _ = vectors_from_pandas(frame[EMBED].map(lambda s: s["vector"]))
    assert np.array_equal(from_pandas, matrix)


def test_no_vector_needs_a_dimension_and_mixed_lengths_are_an_error():
    empty = pa.array([None, None], pa.list_(pa.float32()))
    with pytest.raises(ValueError, match="pass dim"):
        vectors_from_arrow(empty)
    assert vectors_from_arrow(empty, dim=5)[0].shape == (2, 5)
    with pytest.raises(ValueError, match="different lengths"):
        vectors_from_arrow(pa.array([[1.0], [1.0, 2.0]], pa.list_(pa.float32())))
    chunked = pa.chunked_array([pa.array([[1.0, 0.0]], pa.list_(pa.float32()))] * 2)
    assert vectors_from_arrow(chunked)[0].shape == (2, 2)
    assert vectors_from_pandas(pd.Series([np.array([3.0, 4.0])]))[0].tolist() == [[3.0, 4.0]]


def test_l2_normalize_gives_unit_rows_and_keeps_zero_rows():
    out = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert out.dtype == np.float32
    assert np.allclose(out, [[0.6, 0.8], [0.0, 0.0]])
