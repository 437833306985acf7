"""Statistics as a by-product of the job that commits a checkpoint.

A `StatsTap` runs inside the `mapInArrow` that feeds a checkpoint's write (the fused pass itself for a row
pass, a pass-through for ingest and global stages). Each task measures the batches it writes and hands one
partial aggregate per partition to the driver through an accumulator keyed by partition id: a partition run
twice (a retried or speculative task, a recomputed stage) replaces its own entry instead of adding to it. The
driver merges the partials into exactly what `thresher.stats` used to compute by re-reading the checkpoint with
two Spark jobs: the same counts and sums, the same numeric summaries (quantiles picked by the rule of Spark's
`percentile_approx`, exact where its sketch is exact, i.e. below 5,000 values of a signal), the same histogram
bins and tallies. So the stats rows, the report and the conservation check stay the same, without a job.

A checkpoint's partials are only trusted when they account for exactly the rows that went in (else the runner
falls back to re-reading the checkpoint). For a global stage, the multiset of doc_ids is checked by an
order-free 64-bit digest (sum of hashes) against what the previous segment passed on: this replaces the
distinct-count job that checked for duplicated rows.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.accumulators import AccumulatorParam

from thresher.core.languages import UNDETERMINED_LANGUAGE
from thresher.schema import DOC_ID, KEEP, REASON, REWRITTEN_TEXT, TEXT
from thresher.text.word_counts import whitespace_word_counts

# Reason counted for a document a stage dropped without giving one (the same as thresher.stats).
UNSPECIFIED_REASON = "unspecified"
NON_FINITE = "non_finite"
_DIGEST_MOD = 1 << 64
# Fields of a partial that are sums over partitions.
_STAGE_SUMS = (
    "in",
    "kept",
    "undecided",
    "chars_in",
    "chars_out",
    "words_in",
    "words_out",
    "tokens_in",
    "tokens_out",
    "tokens_unknown",
)


class PartialsByPartition(AccumulatorParam):
    """{partition id: partial}; a partition reported again replaces its earlier report."""

    def zero(self, value: dict[int, Any]) -> dict[int, Any]:
        return {}

    def addInPlace(self, value1: dict[int, Any], value2: dict[int, Any]) -> dict[int, Any]:
        value1.update(value2)
        return value1


def digest_of(ids: Iterable[str | None]) -> int:
    """Order-free digest of a multiset of doc ids (sum of 64-bit hashes modulo 2**64)."""
    total = 0
    for doc_id in ids:
        if doc_id is not None:
            total += int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "little")
    return total % _DIGEST_MOD


def _partition_id() -> int:
    from pyspark import TaskContext

    context = TaskContext.get()
    return context.partitionId() if context is not None else 0


class StatsTap:
    """`mapInArrow` function: runs `inner` (or passes batches through), measures what it yields with `spec`
    and reports one partial per partition to `accumulator`."""

    def __init__(self, spec: Any, accumulator: Any, inner: Callable[[Iterable[pa.RecordBatch]], Any] | None = None):
        self.spec = spec
        self.accumulator = accumulator
        self.inner = inner

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        partial = self.spec.new()
        seconds = 0.0
        for batch in self.inner(batches) if self.inner is not None else batches:
            started = time.perf_counter()
            self.spec.add(partial, batch)
            seconds += time.perf_counter() - started
            yield batch
        started = time.perf_counter()
        partial = self.spec.close(partial)
        # What measuring cost this task (the statistics' share of the pass: bench/stats_overhead.py).
        partial["seconds"] = seconds + time.perf_counter() - started
        self.accumulator.add({_partition_id(): partial})


def measuring_seconds(partials: dict[int, dict[str, Any]]) -> float:
    """Seconds the tasks spent measuring (summed over tasks)."""
    return sum(p.get("seconds", 0.0) for p in partials.values())


# -- column helpers -------------------------------------------------------------------------------------------


def _path(batch: pa.RecordBatch, path: str) -> pa.Array:
    """A top-level column or a field of a struct column ('stage.field'); a field of a null struct is null."""
    top, _, rest = path.partition(".")
    values: Any = batch.column(top)
    for part in rest.split(".") if rest else ():
        values = pc.struct_field(values, part)
    return values


def _ints(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(int64 values with 0 for nulls, validity)."""
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    filled = pc.fill_null(values.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    return np.asarray(filled, dtype=np.int64), valid


def _bools(values: pa.Array) -> np.ndarray:
    """True where the value is true (null counts false)."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _coalesce(columns: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    values, valid = columns[-1][0].copy(), columns[-1][1].copy()
    for v, ok in reversed(columns[:-1]):
        values = np.where(ok, v, values)
        valid = valid | ok
    return values, valid


def _add_tally(tally: dict[str, list[int]], keys: Sequence[Any], kept: np.ndarray) -> None:
    for key, was_kept in zip(keys, kept.tolist(), strict=True):
        entry = tally.get(key)
        if entry is None:
            entry = tally[key] = [0, 0]
        entry[0] += 1
        entry[1] += int(was_kept)


def _merge_tally(into: dict[str, list[int]], other: dict[str, list[int]]) -> None:
    for key, (n, kept) in other.items():
        entry = into.setdefault(key, [0, 0])
        entry[0] += n
        entry[1] += kept


def _final_text_measures(
    batch: pa.RecordBatch, tokenizer: str | None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], np.ndarray | None]:
    """(chars, words, tokens) of the text a checkpoint stores as its final text, as thresher.stats measures
    it: code points, whitespace words (the count of thresher.stages.fused.count_words, taken on the Arrow column's
    bytes), tokens (0 for a null text)."""
    column = batch.column(REWRITTEN_TEXT if REWRITTEN_TEXT in batch.schema.names else TEXT)
    chars = _ints(pc.utf8_length(column))
    words = whitespace_word_counts(column)
    tokens = None
    if tokenizer is not None:
        from thresher.text.tokens import token_counter

        tokens = np.asarray(token_counter(tokenizer).count(column.to_pylist()), dtype=np.int64)
    return chars, words, tokens


# -- ingest ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestSpec:
    """What ingest's stats row needs: records, documents, their characters, words and tokens, quarantine
    reasons and records skipped by design."""

    quarantine: str
    skipped: str
    tokenizer: str | None

    def new(self) -> dict[str, Any]:
        return {"records": 0, "docs": 0, "chars": 0, "words": 0, "tokens": 0, "reasons": {}, "skipped": {}, "ids": 0}

    def add(self, partial: dict[str, Any], batch: pa.RecordBatch) -> None:
        names = batch.schema.names
        is_doc = ~np.asarray(batch.column(self.quarantine).is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if self.skipped in names:
            skipped = batch.column(self.skipped)
            for kind in pc.filter(skipped, skipped.is_valid()).to_pylist():
                partial["skipped"][kind] = partial["skipped"].get(kind, 0) + 1
            is_doc &= ~np.asarray(skipped.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        (chars, chars_ok), (words, words_ok), tokens = _final_text_measures(batch, self.tokenizer)
        partial["records"] += batch.num_rows
        partial["docs"] += int(is_doc.sum())
        partial["chars"] += int(chars[is_doc & chars_ok].sum())
        partial["words"] += int(words[is_doc & words_ok].sum())
        if tokens is not None:
            partial["tokens"] += int(tokens[is_doc].sum())
        quarantine = batch.column(self.quarantine)
        quarantined = pc.filter(quarantine, quarantine.is_valid())
        for reason in pc.struct_field(quarantined, REASON).to_pylist():
            partial["reasons"][reason] = partial["reasons"].get(reason, 0) + 1
        ids = batch.column(DOC_ID).to_pylist()
        partial["ids"] = (partial["ids"] + digest_of(i for i, d in zip(ids, is_doc.tolist(), strict=True) if d)) % (
            _DIGEST_MOD
        )

    def close(self, partial: dict[str, Any]) -> dict[str, Any]:
        return partial

    @staticmethod
    def merge(partials: dict[int, dict[str, Any]]) -> dict[str, Any]:
        out = IngestSpec("", "", None).new()
        for partial in partials.values():
            for key in ("records", "docs", "chars", "words", "tokens"):
                out[key] += partial[key]
            for key in ("reasons", "skipped"):
                for name, n in partial[key].items():
                    out[key][name] = out[key].get(name, 0) + n
            out["ids"] = (out["ids"] + partial["ids"]) % _DIGEST_MOD
        return out


# -- a segment's stages ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NumericField:
    stage: str
    name: str


@dataclass(frozen=True)
class SegmentSpec:
    """What a segment's stats rows need, by column path (picklable: no Stage objects travel to the workers).

    `rewriters_from[k]`: the rewriting stages at or after stage k (see thresher.stats._length_measures).
    """

    stages: tuple[str, ...]
    rewrites: tuple[bool, ...]
    filter_mode: bool
    tokenizer: str | None
    numeric: tuple[NumericField, ...]
    booleans: tuple[NumericField, ...]
    # stage id -> column path of the language its documents are counted under
    languages: tuple[tuple[str, str], ...]

    def new(self) -> dict[str, Any]:
        return {
            "rows": 0,
            "stages": {s: dict.fromkeys(_STAGE_SUMS, 0) for s in self.stages},
            "numeric": [{"values": [], "kept": [], "non_finite": 0, "non_finite_kept": 0} for _ in self.numeric],
            "tallies": {},
            "ids_all": 0,
            "ids_passed": 0,
        }

    def add(self, partial: dict[str, Any], batch: pa.RecordBatch) -> None:
        n = batch.num_rows
        partial["rows"] += n
        (final_chars, final_words, final_tokens) = _final_text_measures(batch, self.tokenizer)
        reached: dict[str, np.ndarray] = {}
        kept: dict[str, np.ndarray] = {}
        for stage in self.stages:
            struct = batch.column(stage)
            reached[stage] = np.asarray(struct.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
            keep = pc.struct_field(struct, KEEP)
            kept[stage] = _bools(keep)
            sums = partial["stages"][stage]
            sums["in"] += int(reached[stage].sum())
            sums["kept"] += int(kept[stage].sum())
            decided = np.asarray(keep.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
            sums["undecided"] += int((reached[stage] & ~decided).sum())
        self._lengths(partial, batch, reached, kept, final_chars, final_words, final_tokens)
        tallies = partial["tallies"]
        for stage in self.stages:
            struct = batch.column(stage)
            dropped = _bools(pc.equal(pc.struct_field(struct, KEEP), False))
            if dropped.any():
                reasons = pc.filter(pc.struct_field(struct, REASON), pa.array(dropped)).to_pylist()
                keys = [UNSPECIFIED_REASON if r is None else r for r in reasons]
                _add_tally(tallies.setdefault(("reason", stage, ""), {}), keys, np.zeros(len(keys), dtype=bool))
        for signal in self.booleans:
            values = pc.struct_field(batch.column(signal.stage), signal.name)
            present = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
            keys = ["true" if v else "false" for v in pc.filter(values, pa.array(present)).to_pylist()]
            _add_tally(tallies.setdefault(("bool", signal.stage, signal.name), {}), keys, kept[signal.stage][present])
        for stage, source in self.languages:
            codes = _path(batch, source).to_pylist()
            mask = reached[stage]
            keys = [c if c else UNDETERMINED_LANGUAGE for c, m in zip(codes, mask.tolist(), strict=True) if m]
            _add_tally(tallies.setdefault(("lang", stage, ""), {}), keys, kept[stage][mask])
        for i, signal in enumerate(self.numeric):
            raw = pc.struct_field(batch.column(signal.stage), signal.name).cast(pa.float64())
            valid = np.asarray(raw.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
            values = np.asarray(pc.fill_null(raw, 0.0).to_numpy(zero_copy_only=False), dtype=np.float64)
            finite = valid & np.isfinite(values)
            non_finite = valid & ~np.isfinite(values)
            slot = partial["numeric"][i]
            slot["values"].append(values[finite])
            slot["kept"].append(kept[signal.stage][finite])
            slot["non_finite"] += int(non_finite.sum())
            slot["non_finite_kept"] += int((non_finite & kept[signal.stage]).sum())
        ids = batch.column(DOC_ID).to_pylist()
        passed = kept[self.stages[-1]] if self.filter_mode else np.ones(n, dtype=bool)
        partial["ids_all"] = (partial["ids_all"] + digest_of(ids)) % _DIGEST_MOD
        partial["ids_passed"] = (
            partial["ids_passed"] + digest_of(i for i, p in zip(ids, passed.tolist(), strict=True) if p)
        ) % _DIGEST_MOD

    def _lengths(
        self,
        partial: dict[str, Any],
        batch: pa.RecordBatch,
        reached: dict[str, np.ndarray],
        kept: dict[str, np.ndarray],
        final_chars: tuple[np.ndarray, np.ndarray],
        final_words: tuple[np.ndarray, np.ndarray],
        final_tokens: np.ndarray | None,
    ) -> None:
        """Characters, words (and tokens) into and out of each stage, as thresher.stats._length_measures."""
        n = batch.num_rows
        for k, stage in enumerate(self.stages):
            rewriters = [s for s, r in zip(self.stages[k:], self.rewrites[k:], strict=True) if r]
            chars_in = _coalesce([*(_ints(_path(batch, f"{s}.chars_before")) for s in rewriters), final_chars])
            words_in = _coalesce([*(_ints(_path(batch, f"{s}.words_before")) for s in rewriters), final_words])
            if self.rewrites[k]:
                chars_out = _ints(_path(batch, f"{stage}.chars_after"))
                words_out = _ints(_path(batch, f"{stage}.words_after"))
            else:
                chars_out, words_out = chars_in, words_in
            passed = kept[stage] if self.filter_mode else reached[stage]
            sums = partial["stages"][stage]
            sums["chars_in"] += int(chars_in[0][reached[stage] & chars_in[1]].sum())
            sums["words_in"] += int(words_in[0][reached[stage] & words_in[1]].sum())
            sums["chars_out"] += int(chars_out[0][passed & chars_out[1]].sum())
            sums["words_out"] += int(words_out[0][passed & words_out[1]].sum())
            if final_tokens is None:
                continue
            tokens_in = (final_tokens, np.ones(n, dtype=bool))
            for rewriter in reversed(rewriters):
                recorded = _ints(_path(batch, f"{rewriter}.chars_before"))[1]
                before = _ints(_path(batch, f"{rewriter}.tokens_before"))
                tokens_in = (np.where(recorded, before[0], tokens_in[0]), np.where(recorded, before[1], tokens_in[1]))
            tokens_out = _ints(_path(batch, f"{stage}.tokens_after")) if self.rewrites[k] else tokens_in
            sums["tokens_in"] += int(tokens_in[0][reached[stage] & tokens_in[1]].sum())
            sums["tokens_out"] += int(tokens_out[0][passed & tokens_out[1]].sum())
            sums["tokens_unknown"] += int((reached[stage] & (~tokens_in[1] | ~tokens_out[1])).sum())

    def close(self, partial: dict[str, Any]) -> dict[str, Any]:
        """Per numeric signal: its distinct finite values with how many rows had each and how many of them the
        stage kept (what quantiles, means and histograms are made of), and the plain sum for the mean."""
        for slot in partial["numeric"]:
            values = np.concatenate(slot.pop("values")) if slot["values"] else np.zeros(0)
            kept = np.concatenate(slot.pop("kept")) if slot["kept"] else np.zeros(0, dtype=bool)
            distinct, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
            slot["distinct"] = distinct
            slot["counts"] = counts.astype(np.int64)
            slot["kept"] = np.bincount(inverse, weights=kept, minlength=len(distinct)).astype(np.int64)
            slot["sum"] = math.fsum(values.tolist())
        return partial

    def merge(self, partials: dict[int, dict[str, Any]]) -> dict[str, Any]:
        """The partials of all partitions as one (partition order, for a reproducible mean)."""
        out = self.new()
        for slot in out["numeric"]:
            slot.update(distinct=[], counts=[], kept=[], sum=0.0)
            del slot["values"]
        sums: list[list[float]] = [[] for _ in self.numeric]
        for _, partial in sorted(partials.items()):
            out["rows"] += partial["rows"]
            for stage, figures in partial["stages"].items():
                for key, value in figures.items():
                    out["stages"][stage][key] += value
            for group, tally in partial["tallies"].items():
                _merge_tally(out["tallies"].setdefault(group, {}), tally)
            for i, slot in enumerate(partial["numeric"]):
                merged = out["numeric"][i]
                for key in ("distinct", "counts", "kept"):
                    merged[key].append(slot[key])
                merged["non_finite"] += slot["non_finite"]
                merged["non_finite_kept"] += slot["non_finite_kept"]
                sums[i].append(slot["sum"])
            out["ids_all"] = (out["ids_all"] + partial["ids_all"]) % _DIGEST_MOD
            out["ids_passed"] = (out["ids_passed"] + partial["ids_passed"]) % _DIGEST_MOD
        for i, merged in enumerate(out["numeric"]):
            values = np.concatenate(merged["distinct"]) if merged["distinct"] else np.zeros(0)
            counts = np.concatenate(merged["counts"]) if merged["counts"] else np.zeros(0, dtype=np.int64)
            kept = np.concatenate(merged["kept"]) if merged["kept"] else np.zeros(0, dtype=np.int64)
            distinct, inverse = np.unique(values, return_inverse=True)
            merged["distinct"] = distinct
            merged["counts"] = np.bincount(inverse, weights=counts, minlength=len(distinct)).astype(np.int64)
            merged["kept"] = np.bincount(inverse, weights=kept, minlength=len(distinct)).astype(np.int64)
            merged["sum"] = math.fsum(sums[i])
        return out


def quantiles_like_spark(distinct: np.ndarray, counts: np.ndarray, quantiles: Sequence[float], accuracy: int) -> list:
    """The values `percentile_approx(x, quantiles, accuracy)` returns when its summary is exact: the element of
    rank ceil(q * n) (the first below q <= 1/accuracy, the last from q >= 1 - 1/accuracy)."""
    n = int(counts.sum())
    if n == 0:
        return []
    ends = np.cumsum(counts)
    error = 1.0 / accuracy
    out = []
    for q in quantiles:
        if q <= error:
            out.append(float(distinct[0]))
        elif q >= 1 - error:
            out.append(float(distinct[-1]))
        else:
            rank = max(1, math.ceil(q * n))
            out.append(float(distinct[int(np.searchsorted(ends, rank, side="left"))]))
    return out


def bin_keys(distinct: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Histogram keys as thresher.stats gives them: -1 below the first edge, the bin's index, len(edges) - 1
    above the last; the last bin closed on both sides."""
    splits = np.array([-math.inf, *edges[:-1], math.nextafter(edges[-1], math.inf), math.inf])
    bucket = np.searchsorted(splits, distinct, side="right") - 1
    return np.clip(bucket, 0, len(splits) - 2) - 1
