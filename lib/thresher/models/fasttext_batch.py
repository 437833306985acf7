"""fastText's top-1 prediction for a whole batch of lines, each distinct word of the batch worked out once.

A supervised fastText model with word unigrams (`wordNgrams` 1, as lid.176) averages the input rows of every
token's ids (the word's own id when it is in the vocabulary, and the ids of its character n-grams) plus the
end-of-line token's row, and scores that average with its output layer. fastText recomputes a token's n-grams and
their hashes at every occurrence, which is most of its time on web text. Here Arrow cuts a batch's lines into
tokens and finds the distinct ones (about one in six tokens of 1,000 web pages); their n-gram ids come from
fastText's own rules (UTF-8 characters, "<" and ">" at the edges, FNV-1a of the bytes as signed chars, the
buckets a pruned model kept) in numpy for all of them together; a line's average is a numpy sum; and the output
layer (hierarchical softmax or softmax) runs once per batch with fastText's formulas: hierarchical softmax scores
a label by the sum along its tree path of log(sigmoid + 1e-5), softmax by log(p + 1e-5), and the probability
returned is exp of the score.

Sums run in float64 where fastText accumulates float32, so probabilities differ from fastText's by ~1e-7 (at most
~2e-5 measured); the top label is fastText's except on near-ties (tests/unit/test_fasttext_batch.py compares
both). `supports` says which models this covers: quantized ones (.ftz, whose rows are decoded once at load) and
dense ones up to `_MAX_DENSE_BYTES`; the language stage leaves the others to fastText.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from thresher.text.arrow_bytes import value_bytes

_LOG_EPSILON = 1e-5  # fastText's std_log(x) = log(x + 1e-5)
_GATHER = 65536  # tokens whose rows are gathered at once when averaging (16 float64 each: ~8 MB)
_MAX_DENSE_BYTES = 512 << 20  # a dense input matrix larger than this is not copied: fastText predicts itself
_FNV_OFFSET, _FNV_PRIME = np.uint32(2166136261), np.uint32(16777619)
_FASTTEXT_MAGIC = 793712314
_EOS = "</s>"
_BOW, _EOW = "<", ">"


class _Dictionary:
    """What fastText's model file says about words and n-gram buckets: the vocabulary's ids and, for a
    quantized (pruned) model, which buckets kept a row and at which index."""

    def __init__(self, path: str, nwords: int) -> None:
        with open(path, "rb") as model_file:
            reader = _Reader(model_file)
            magic, _version = reader.unpack("<ii")
            if magic != _FASTTEXT_MAGIC:
                raise ValueError(f"{path} is not a fastText model file")
            reader.unpack("<12id")  # the Args block
            size, words, _labels, _tokens, prune_size = reader.unpack("<iiiqq")
            if words != nwords:
                raise ValueError(f"{path}: the file's vocabulary ({words}) is not the loaded model's ({nwords})")
            vocabulary: dict[str, int] = {}
            for i in range(size):
                word = reader.until_nul()
                reader.unpack("<qb")  # count, type
                if i < words:
                    vocabulary[word.decode("utf-8", "surrogateescape")] = i
            pairs = np.frombuffer(reader.take(8 * max(prune_size, 0)), dtype="<i4").reshape(-1, 2)
        self.vocabulary = vocabulary
        self.prune_size = prune_size
        # (bucket, row among the kept n-gram rows) of each bucket a pruned model kept
        self._pruned = pairs

    def bucket_rows(self, buckets: int) -> np.ndarray:
        """The input row of each n-gram bucket, -1 for a bucket that has none (pruned away)."""
        nwords = len(self.vocabulary)
        if self.prune_size < 0:  # not pruned: every bucket has its row
            return np.arange(nwords, nwords + buckets, dtype=np.int64)
        rows = np.full(buckets, -1, dtype=np.int32)
        rows[self._pruned[:, 0]] = nwords + self._pruned[:, 1]
        return rows


class _Reader:
    """Sequential reads from the head of a (possibly large) model file, a megabyte at a time."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._buffer = b""
        self._offset = 0

    def _fill(self, needed: int) -> None:
        while len(self._buffer) - self._offset < needed:
            chunk = self._stream.read(max(1 << 20, needed))
            if not chunk:
                raise ValueError("the fastText model file ends early")
            self._buffer = self._buffer[self._offset :] + chunk
            self._offset = 0

    def take(self, count: int) -> bytes:
        self._fill(count)
        piece = self._buffer[self._offset : self._offset + count]
        self._offset += count
        return piece

    def unpack(self, layout: str) -> tuple:
        return struct.unpack(layout, self.take(struct.calcsize(layout)))

    def until_nul(self) -> bytes:
        while (end := self._buffer.find(b"\0", self._offset)) < 0:
            self._fill(len(self._buffer) - self._offset + 1)
        piece = self._buffer[self._offset : end]
        self._offset = end + 1
        return piece


def supports(model: Any) -> bool:
    """Whether `BatchedFastText` reproduces this fastText model's predictions (and holds its rows)."""
    import fasttext

    args = model.f.getArgs()
    names = fasttext.FastText
    fits = model.is_quantized() or (len(model.get_words()) + args.bucket) * args.dim * 4 <= _MAX_DENSE_BYTES
    return (
        args.model == names.model_name.supervised
        and args.wordNgrams == 1
        and args.loss in (names.loss_name.hs, names.loss_name.softmax)
        and not args.qout
        and fits
    )


class BatchedFastText:
    """`predict(lines)`: fastText's top label and its probability for each line (a line holds no newline)."""

    def __init__(self, model: Any, path: str) -> None:
        import fasttext

        if not supports(model):
            raise ValueError(f"{path}: fastText predicts this model itself (word n-grams, ova loss or too large)")
        args = model.f.getArgs()
        self._minn, self._maxn, self._bucket = args.minn, args.maxn, args.bucket
        self._label_prefix = args.label
        self.labels: list[str] = model.get_labels()
        nwords = len(model.get_words())
        self._dictionary = _Dictionary(path, nwords)
        self._bucket_rows = self._dictionary.bucket_rows(self._bucket)
        # For a pruned model, which buckets have a row at all, one bit each.
        pruned = self._dictionary.prune_size >= 0
        self._bucket_bitmap = np.packbits(self._bucket_rows >= 0, bitorder="little") if pruned else None
        # The input rows as dimensions x rows (each dimension contiguous, for the per-word sums); a quantized
        # model's rows are decoded once here.
        if model.is_quantized():
            rows = nwords + max(self._dictionary.prune_size, 0)
            decoded = np.array([model.get_input_vector(i) for i in range(rows)], dtype=np.float64)
            self._columns = np.ascontiguousarray(decoded.T)
        else:
            self._columns = np.ascontiguousarray(np.asarray(model.get_input_matrix(), dtype=np.float32).T)
        self._output = np.asarray(model.f.getOutputMatrix(), dtype=np.float64)
        self._hierarchical = args.loss == fasttext.FastText.loss_name.hs
        if self._hierarchical:
            _, counts = model.get_labels(include_freq=True)
            self._paths = _label_paths(np.asarray(counts, dtype=np.int64))
        self._end_of_line = self._columns[:, self._dictionary.vocabulary[_EOS]].astype(np.float64)
        self._vocabulary = pa.array(list(self._dictionary.vocabulary), pa.string())  # in id order

    def predict(self, lines: list[str]) -> tuple[list[str], list[float]]:
        if not lines:
            return [], []
        texts = pa.array(lines, pa.string())
        # fastText splits on space, \t, \n, \v, \f, \r and NUL; the lines hold no other of them but space.
        if pc.any(pc.match_substring(texts, "\x00")).as_py():
            texts = pc.replace_substring(texts, "\x00", " ")
        # Its end-of-line word ends the line where it stands as a token: what follows is not read.
        if pc.any(pc.match_substring(texts, _EOS)).as_py():
            texts = pa.array([_up_to_end_of_line(line) for line in texts.to_pylist()], pa.string())
        tokens = pc.split_pattern(texts, pattern=" ")
        tokens_per_line = pc.list_value_length(tokens).to_numpy(zero_copy_only=False).astype(np.int64)
        encoded = pc.dictionary_encode(pc.list_flatten(tokens))
        sums, counts = self._word_rows(encoded.dictionary)
        hidden = self._hidden(sums, counts, encoded.indices.to_numpy(zero_copy_only=False), tokens_per_line)
        best, probabilities = self._best(hidden)
        return [self.labels[b] for b in best.tolist()], probabilities.tolist()

    def _word_rows(self, words: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """The sum of the input rows of each distinct token's ids and how many ids it has, as fastText's
        Dictionary::getLine builds them: the word's own id when it is in the vocabulary, and its character
        n-grams unless it is the end-of-line token; a token that reads as a label, or the empty token (two
        spaces in a row), is no word of the line."""
        own = pc.fill_null(pc.index_in(words, value_set=self._vocabulary), -1).to_numpy(zero_copy_only=False)
        not_a_word = pc.or_(pc.starts_with(words, self._label_prefix), pc.equal(pc.utf8_length(words), 0))
        not_a_word = not_a_word.to_numpy(zero_copy_only=False)
        own = np.where(not_a_word, -1, own).astype(np.int64)
        owner, ids = self._ngram_ids(words)
        no_ngrams = not_a_word | pc.equal(words, _EOS).to_numpy(zero_copy_only=False)
        keep = ~no_ngrams[owner]
        with_own = np.flatnonzero(own >= 0)
        owner = np.concatenate([owner[keep], with_own])
        ids = np.concatenate([ids[keep], own[with_own]])
        columns = self._columns[:, ids]  # dimensions x ids, each dimension contiguous for bincount
        sums = np.empty((len(words), len(columns)), dtype=np.float64)
        for dimension, values in enumerate(columns):
            sums[:, dimension] = np.bincount(owner, weights=values, minlength=len(words))
        return sums, np.bincount(owner, minlength=len(words)).astype(np.int64)

    def _ngram_ids(self, words: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """(word index, input row) of every character n-gram of each word that has a row: fastText's
        computeSubwords on "<word>" (n from minn to maxn characters of UTF-8, single characters never at the
        edges), its FNV-1a hash of the bytes (signed chars) modulo the buckets, then the pruned buckets."""
        if self._maxn <= 0 or not len(words):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        data, word_ends = _bracketed_utf8(words)
        lengths = np.diff(word_ends, prepend=0)
        byte_word = np.repeat(np.arange(len(words), dtype=np.int32), lengths)
        char_starts = np.flatnonzero((data & 0xC0) != 0x80).astype(np.int32)
        char_word = byte_word[char_starts]
        # Where each character ends: the next character's start within the word, else the word's end.
        char_ends = np.append(char_starts[1:], np.int32(len(data)))
        last_of_word = np.append(char_word[1:] != char_word[:-1], True)
        char_ends[last_of_word] = word_ends[char_word[last_of_word]]
        first_of_word = np.append(True, last_of_word[:-1])
        signed = data.astype(np.int8).astype(np.int32).astype(np.uint32)  # fastText XORs int8 chars widened
        owners, rows = [], []
        chars = len(char_starts)
        for n in range(max(self._minn, 1), min(self._maxn, chars) + 1):
            # n-grams of n characters: from each character whose n-th next one is in the same word
            begins = chars - n + 1
            valid = char_word[n - 1 :] == char_word[:begins]
            if n == 1:  # single characters are no n-gram at the word's edges ("<" and ">")
                valid &= ~first_of_word & ~last_of_word
            start = char_starts[:begins][valid]
            width = char_ends[n - 1 :][valid] - start
            # FNV-1a over the bytes: every n-gram has at least n of them; longer ones (wide characters) go on.
            hashes = np.full(len(start), _FNV_OFFSET, dtype=np.uint32)
            for k in range(n):
                hashes ^= signed[start + k]
                hashes *= _FNV_PRIME
            longer = np.flatnonzero(width > n)
            for k in range(n, int(width[longer].max()) if len(longer) else n):
                longer = longer[width[longer] > k]
                hashes[longer] = (hashes[longer] ^ signed[start[longer] + k]) * _FNV_PRIME
            found = self._row_of_hashes(hashes)
            owners.append(char_word[:begins][valid][found[0]])
            rows.append(found[1])
        if not owners:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(owners).astype(np.int64), np.concatenate(rows)

    def _row_of_hashes(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(which of the n-gram hashes have an input row, those rows). A bitmap of the buckets with a row (256 KB
        for 2M buckets: it stays in cache) answers most of them before the row table is read."""
        buckets = hashes % np.uint32(self._bucket)
        if self._bucket_bitmap is not None:
            candidates = np.flatnonzero((self._bucket_bitmap[buckets >> 3] >> (buckets & 7).astype(np.uint8)) & 1)
        else:
            candidates = np.arange(len(buckets))
        rows = self._bucket_rows[buckets[candidates]]
        has_row = rows >= 0
        return candidates[has_row], rows[has_row].astype(np.int64)

    def _hidden(
        self, sums: np.ndarray, counts: np.ndarray, token_words: np.ndarray, tokens_per_line: np.ndarray
    ) -> np.ndarray:
        """Each line's average of its tokens' rows and the end-of-line row (every line has a token, maybe "")."""
        ends = np.cumsum(tokens_per_line)
        starts = ends - tokens_per_line
        line_sums = np.empty((len(starts), sums.shape[1]), dtype=np.float64)
        line_counts = np.add.reduceat(counts[token_words], starts)
        low = 0
        while low < len(starts):  # lines in groups of about _GATHER tokens, so that the gathered rows stay small
            high = max(int(np.searchsorted(ends, starts[low] + _GATHER, side="right")), low + 1)
            first, last = int(starts[low]), int(ends[high - 1])
            line_sums[low:high] = np.add.reduceat(sums[token_words[first:last]], starts[low:high] - first, axis=0)
            low = high
        return (line_sums + self._end_of_line) / (line_counts + 1)[:, None]

    def _best(self, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # einsum's own loops, not BLAS: these products are small, and BLAS threads would spin beside a worker.
        if self._hierarchical:
            inner = 1.0 / (1.0 + np.exp(-np.einsum("ld,nd->ln", hidden, self._output[: len(self.labels) - 1])))
            # Per line, the log of each inner node's right branch, then of its left one; a label's score sums
            # the branches along its path (padded with a branch of log 1 = 0).
            branches = np.concatenate(
                [np.log(inner + _LOG_EPSILON), np.log(1.0 - inner + _LOG_EPSILON), np.zeros((len(inner), 1))], axis=1
            )
            scores = branches[:, self._paths].sum(axis=2)
        else:
            logits = np.einsum("ld,nd->ln", hidden, self._output)
            logits -= logits.max(axis=1, keepdims=True)
            exp = np.exp(logits)
            scores = np.log(exp / exp.sum(axis=1, keepdims=True) + _LOG_EPSILON)
        best = scores.argmax(axis=1)
        return best, np.exp(scores[np.arange(len(best)), best])


def _label_paths(counts: np.ndarray) -> np.ndarray:
    """fastText's Huffman tree over the labels (its buildTree; labels sorted by count, most frequent first) as a
    (labels x depth) array of branches: inner node n's right ("binary") branch is n, its left one n + inner
    nodes, and 2 x inner nodes pads the shorter paths."""
    labels = len(counts)
    nodes = 2 * labels - 1
    count = np.full(nodes, 1e15)
    count[:labels] = counts
    parent = np.full(nodes, -1, dtype=np.int64)
    binary = np.zeros(nodes, dtype=bool)
    leaf, node = labels - 1, labels
    for i in range(labels, nodes):
        pair = []
        for _ in range(2):
            if leaf >= 0 and count[leaf] < count[node]:
                pair.append(leaf)
                leaf -= 1
            else:
                pair.append(node)
                node += 1
        count[i] = count[pair[0]] + count[pair[1]]
        parent[pair[0]] = parent[pair[1]] = i
        binary[pair[1]] = True
    inner = labels - 1
    paths: list[list[int]] = []
    for label in range(labels):
        path, child = [], label
        while parent[child] != -1:
            path.append(parent[child] - labels + (0 if binary[child] else inner))
            child = parent[child]
        paths.append(path)
    depth = max(len(p) for p in paths)
    return np.array([p + [2 * inner] * (depth - len(p)) for p in paths], dtype=np.int64)


def _bracketed_utf8(words: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of "<" + word + ">" for every word, concatenated, and where each ends."""
    body, offsets = value_bytes(words)
    lengths = np.diff(offsets) + 2
    word_ends = np.cumsum(lengths)
    out = np.empty(int(word_ends[-1]), dtype=np.uint8)
    inside = np.ones(len(out), dtype=bool)
    inside[word_ends - lengths] = False
    inside[word_ends - 1] = False
    out[word_ends - lengths] = ord(_BOW)
    out[word_ends - 1] = ord(_EOW)
    out[inside] = body
    return out, word_ends


def _up_to_end_of_line(line: str) -> str:
    tokens = line.split(" ")
    return " ".join(tokens[: tokens.index(_EOS) + 1]) if _EOS in tokens else line
