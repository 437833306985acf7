"""The words of many documents at once: Arrow cuts every text at whitespace and finds the batch's distinct pieces,
the word splitter sees each distinct piece once, and numpy lays the token ids out per document.

Per document, the same work costs a Python `str.split`, a dictionary lookup per piece (most of a document's
pieces are common words, looked up in a large cache: memory-bound) and list building; for a batch of web pages
about one piece in six is distinct, so most of that moves into Arrow's C++ and numpy.

The result equals splitting each text on its own: Arrow's `utf8_split_whitespace` cuts at the same code points as
`str.split()` (tested on every code point) and, unlike it, yields an empty piece at leading and trailing
whitespace, which is dropped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from thresher.text.arrow_bytes import value_bytes
from thresher.text.words import TokenTable, WordSplitter


@dataclass(frozen=True)
class BatchWords:
    """Token ids of a batch of documents: document i's tokens are `token_ids[token_offsets[i]:token_offsets[i+1]]`,
    its whitespace pieces `piece_offsets[i]:piece_offsets[i+1]` of `tokens_per_piece`."""

    token_ids: np.ndarray  # int64, ids into `table`
    token_offsets: np.ndarray  # int64, one more than documents
    tokens_per_piece: np.ndarray  # int64, per whitespace piece, every document's in order
    piece_offsets: np.ndarray  # int64, one more than documents
    table: TokenTable


def exclusive_cumsum(counts: np.ndarray) -> np.ndarray:
    """[0, counts[0], counts[0] + counts[1], ...]: one more than counts."""
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def whitespace_free_strings(values: pa.Array) -> list[str]:
    """The values of a string array as Python strings, when no value holds a space: one decode of their bytes
    joined by spaces (Arrow's `to_pylist` builds a scalar object per value and costs several times more)."""
    data, offsets = value_bytes(values)
    count = len(offsets) - 1
    if count == 0:
        return []
    joined = np.full(len(data) + count - 1, ord(" "), dtype=np.uint8)
    joined[np.arange(len(data)) + np.repeat(np.arange(count), np.diff(offsets))] = data
    return joined.tobytes().decode("utf-8").split(" ")


def split_batch(texts: Sequence[str], splitter: WordSplitter) -> BatchWords:
    """The tokens of each of `texts` as `splitter` splits them (`splitter.split_pieces(text.split())` each)."""
    pieces = pc.utf8_split_whitespace(pa.array(texts, pa.large_string()))
    pieces_per_doc = pc.list_value_length(pieces).to_numpy(zero_copy_only=False).astype(np.int64)
    encoded = pc.dictionary_encode(pc.list_flatten(pieces))
    piece_index = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    distinct = whitespace_free_strings(encoded.dictionary)
    ids_per_distinct = splitter.split_pieces(distinct)
    # The table after the call: the splitter may have started a new one, and every id here is from it.
    table = splitter.table
    counts = np.fromiter(map(len, ids_per_distinct), dtype=np.int64, count=len(distinct))
    flat = np.fromiter(chain.from_iterable(ids_per_distinct), dtype=np.int64, count=int(counts.sum()))
    tokens_per_piece = counts[piece_index]
    token_starts = exclusive_cumsum(tokens_per_piece)
    total = int(token_starts[-1])
    within = np.repeat(exclusive_cumsum(counts)[piece_index] - token_starts[:-1], tokens_per_piece)
    token_ids = flat[within + np.arange(total, dtype=np.int64)]
    piece_offsets = exclusive_cumsum(pieces_per_doc)
    token_offsets = token_starts[piece_offsets]
    # Arrow's empty pieces (leading or trailing whitespace; a text of whitespace only) have no token; str.split()
    # has no such piece, and the pieces must line up with it (tokens per line).
    empty = np.flatnonzero(pc.binary_length(encoded.dictionary).to_numpy(zero_copy_only=False) == 0)
    if len(empty):
        keep = piece_index != empty[0]
        doc_of_piece = np.repeat(np.arange(len(texts), dtype=np.int64), pieces_per_doc)
        piece_offsets = exclusive_cumsum(np.bincount(doc_of_piece[keep], minlength=len(texts)))
        tokens_per_piece = tokens_per_piece[keep]
    return BatchWords(token_ids, token_offsets, tokens_per_piece, piece_offsets, table)
