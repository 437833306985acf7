"""One pass over an Arrow batch through a chain of row stages.

This module is Spark-free: Spark runs `FusedPass` inside `mapInArrow`, tests and `thresher explain` call
it directly on batches built from Python dicts. In filter mode a stage sees only the documents every earlier
stage of the pass kept; its struct is null for the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql.types import StringType, StructField, StructType

from thresher.arrow_types import arrow_type
from thresher.schema import REWRITTEN_TEXT, TEXT
from thresher.stages.base import Mode, RowStage, StageResult
from thresher.text.word_counts import word_counts_of

T = TypeVar("T")
log = logging.getLogger(__name__)

_MISSING = object()
# Reason recorded for a document on which a stage raised; the run goes on (one poison document must not
# fail a job over billions), the count shows in stats and the exception in the executor log.
STAGE_ERROR = "stage_error"
# `DocBatch.per_doc` key of the documents' whitespace word counts (`count_words`).
WORDS_KEY = "thresher.words"


def count_words(text: str) -> int:
    """Whitespace tokens: the unit of the `words_*` statistics."""
    # str.split() and the regex \S+ agree on what whitespace is (Unicode White_Space); split is ~5x faster.
    return len(text.split())


class DocBatch:
    """The documents of one Arrow batch that reach a stage, with memoised per-document work."""

    def __init__(self, pass_state: _PassState, rows: np.ndarray) -> None:
        self._state = pass_state
        self._rows = rows
        self.texts: list[str] = [pass_state.texts[i] for i in rows]

    def __len__(self) -> int:
        return len(self._rows)

    def column(self, name: str) -> list[Any]:
        """Values of a top-level column or a stage result field ('url', 'language.lang') for these rows."""
        values = self._state.column(name)
        return [values[i] for i in self._rows]

    def has_column(self, name: str) -> bool:
        """Whether a top-level column or an earlier stage's result named `name` ('embed') is available."""
        return self._state.has_column(name)

    def arrow(self, name: str) -> pa.Array:
        """Like `column`, as an Arrow array (no Python objects): for wide values such as embedding vectors."""
        return self._state.arrow(name).take(pa.array(self._rows, pa.int64()))

    def word_counts(self) -> list[int]:
        """`count_words` of each document, memoised like `per_doc`; those not yet known are counted together on
        their UTF-8 bytes (`word_counts_of`: the same counts, without a Python list per document)."""
        cache = self._state.cache.setdefault(WORDS_KEY, [_MISSING] * self._state.size)
        rows = self._rows.tolist()
        missing = [i for i in rows if cache[i] is _MISSING]
        for i, value in zip(missing, word_counts_of([self._state.texts[i] for i in missing]), strict=True):
            cache[i] = value
        return [cache[i] for i in rows]

    def per_doc(self, key: str, fn: Callable[[str], T]) -> list[T]:
        """`fn(text)` for each document, computed once per document and shared by all stages of the pass
        until a stage rewrites that document's text. `key` names the computation (e.g. 'words')."""
        cache = self._state.cache.setdefault(key, [_MISSING] * self._state.size)
        out: list[T] = []
        for i, text in zip(self._rows, self.texts, strict=True):
            value = cache[i]
            if value is _MISSING:
                value = fn(text)
                cache[i] = value
            out.append(value)
        return out


class _PassState:
    def __init__(self, batch: pa.RecordBatch) -> None:
        self.batch = batch
        self.size = batch.num_rows
        # Stages work on the text as earlier rewrites left it (annotate mode keeps it beside the original).
        working = REWRITTEN_TEXT if REWRITTEN_TEXT in batch.schema.names else TEXT
        self.texts: list[str] = batch.column(working).to_pylist()
        self.cache: dict[str, list[Any]] = {}
        self._columns: dict[str, list[Any]] = {}
        # Results of the stages that ran so far in this pass, converted to Python only when a stage asks.
        self._results: dict[str, pa.Array] = {}

    def has_column(self, name: str) -> bool:
        return name in self._results or name in self.batch.schema.names

    def arrow(self, name: str) -> pa.Array:
        top, _, rest = name.partition(".")
        if top in self._results:
            values: pa.Array = self._results[top]
        elif top in self.batch.schema.names:
            values = self.batch.column(top)
        else:
            raise KeyError(f"column {top!r} is not available to this stage")
        for part in rest.split(".") if rest else ():
            # A field of a null struct is null (StructArray.field alone would ignore the parent's nulls).
            values = pc.struct_field(values, part)
        return values

    def column(self, name: str) -> list[Any]:
        if name not in self._columns:
            self._columns[name] = self.arrow(name).to_pylist()
        return self._columns[name]

    def set_stage_result(self, stage_id: str, struct: pa.Array) -> None:
        for name in [n for n in self._columns if n == stage_id or n.startswith(f"{stage_id}.")]:
            del self._columns[name]
        self._results[stage_id] = struct

    def rewrite(self, rows: np.ndarray, texts: Sequence[str]) -> None:
        changed = [i for i, new in zip(rows, texts, strict=True) if self.texts[i] != new]
        for i, new in zip(rows, texts, strict=True):
            self.texts[i] = new
        for values in self.cache.values():
            for i in changed:
                values[i] = _MISSING


class FusedPass:
    """Runs `stages` in order over Arrow batches and appends one struct column per stage."""

    def __init__(
        self, stages: Sequence[RowStage], mode: Mode, timer: Any | None = None, tokenizer: str | None = None
    ) -> None:
        self.stages = list(stages)
        self.mode = mode
        # run.tokenizer: text-rewriting stages then record tokens before and after, for the per-stage stats.
        self.tokenizer = tokenizer
        # A Spark accumulator of {stage_id: seconds}; None outside Spark.
        self.timer = timer
        self._ready = False

    def output_schema(self, input_schema: StructType) -> StructType:
        ids = {s.id for s in self.stages}
        fields = [f for f in input_schema.fields if f.name not in ids]
        if self._adds_rewritten_text(input_schema.fieldNames()):
            fields.append(StructField(REWRITTEN_TEXT, StringType(), True))
        return StructType([*fields, *(StructField(s.id, s.result_type(), True) for s in self.stages)])

    def _adds_rewritten_text(self, names: Sequence[str]) -> bool:
        """Annotate mode keeps `text` as it came in; rewrites go to REWRITTEN_TEXT (see thresher.schema)."""
        return self.mode == "annotate" and REWRITTEN_TEXT not in names and any(s.rewrites_text for s in self.stages)

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        self._setup()
        for batch in batches:
            yield self.run_batch(batch)

    def _setup(self) -> None:
        if not self._ready:
            for stage in self.stages:
                stage.setup()
            self._ready = True

    def run_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        self._setup()
        state = _PassState(batch)
        alive = np.ones(state.size, dtype=bool)
        results: dict[str, pa.Array] = {}
        seconds: dict[str, float] = {}
        for stage in self.stages:
            started = time.perf_counter()
            rows = np.flatnonzero(alive) if self.mode == "filter" else np.arange(state.size)
            struct, kept = self._run_stage(stage, state, rows)
            results[stage.id] = struct
            state.set_stage_result(stage.id, struct)
            if self.mode == "filter":
                alive[rows[~kept]] = False
            seconds[stage.id] = time.perf_counter() - started
        if self.timer is not None:
            self.timer.add(seconds)
        # Filter mode carries the rewritten text on in `text`; annotate mode keeps the original there.
        working = TEXT if self.mode == "filter" else REWRITTEN_TEXT
        columns, names = [], []
        for name in batch.schema.names:
            if name in results:
                continue
            names.append(name)
            columns.append(pa.array(state.texts, pa.string()) if name == working else batch.column(name))
        if self._adds_rewritten_text(batch.schema.names):
            names.append(REWRITTEN_TEXT)
            columns.append(pa.array(state.texts, pa.string()))
        names.extend(results)
        columns.extend(results.values())
        return pa.RecordBatch.from_arrays(columns, names=names)

    def _run_stage(self, stage: RowStage, state: _PassState, rows: np.ndarray) -> tuple[pa.Array, np.ndarray]:
        view = DocBatch(state, rows)
        try:
            result = stage.process(view)
            _check_result(stage, result, len(rows))
        except Exception:
            log.exception("stage %s failed on a batch of %d documents; retrying one by one", stage.id, len(rows))
            result = _one_by_one(stage, state, rows)
        keep = np.asarray(result.keep, dtype=bool)
        fields: dict[str, Sequence[Any]] = {
            "keep": keep,
            "reason": [None if k else r for k, r in zip(keep, result.reason, strict=True)],
            **result.signals,
        }
        if stage.rewrites_text:
            before = view.texts
            after = list(result.text) if result.text is not None else before
            fields["chars_before"] = [len(t) for t in before]
            fields["chars_after"] = [len(t) for t in after]
            fields["words_before"] = view.word_counts()
            if self.tokenizer is not None:
                from thresher.text.tokens import token_counter

                counter = token_counter(self.tokenizer)
                tokens_before = counter.count(before)
                tokens_after = tokens_before.copy()
                changed = [i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
                tokens_after[changed] = counter.count([after[i] for i in changed])
                fields["tokens_before"], fields["tokens_after"] = tokens_before, tokens_after
            state.rewrite(rows, after)
            fields["words_after"] = DocBatch(state, rows).word_counts()
        struct = _struct_array(stage.result_type(), fields, rows, state.size)
        return struct, keep


def _check_result(stage: RowStage, result: StageResult, n: int) -> None:
    if len(result.keep) != n or len(result.reason) != n:
        raise ValueError(f"stage {stage.id} returned {len(result.keep)} decisions for {n} documents")
    for name, values in result.signals.items():
        if len(values) != n:
            raise ValueError(f"stage {stage.id} returned {len(values)} values of {name!r} for {n} documents")
    if result.text is not None and len(result.text) != n:
        raise ValueError(f"stage {stage.id} returned {len(result.text)} texts for {n} documents")
    if any(not k and r is None for k, r in zip(result.keep, result.reason, strict=True)):
        raise ValueError(f"stage {stage.id} dropped a document without a reason")


def _one_by_one(stage: RowStage, state: _PassState, rows: np.ndarray) -> StageResult:
    """Process each document alone so that one failing document cannot fail the batch."""
    names = [f.name for f in stage.signal_fields()]
    keep: list[bool] = []
    reason: list[str | None] = []
    signals: dict[str, list[Any]] = {name: [] for name in names}
    texts: list[str] = []
    for row in rows:
        single = np.array([row])
        try:
            result = stage.process(DocBatch(state, single))
            _check_result(stage, result, 1)
            keep.append(bool(result.keep[0]))
            reason.append(result.reason[0])
            for name in names:
                signals[name].append(result.signals[name][0] if name in result.signals else None)
            texts.append(result.text[0] if result.text is not None else state.texts[row])
        except Exception as error:
            log.error("stage %s failed on one document: %s: %s", stage.id, type(error).__name__, error)
            keep.append(False)
            reason.append(f"{STAGE_ERROR}:{type(error).__name__}")
            for name in names:
                signals[name].append(None)
            texts.append(state.texts[row])
    return StageResult(keep=keep, reason=reason, signals=signals, text=texts if stage.rewrites_text else None)


def _struct_array(
    struct_type: StructType, fields: dict[str, Sequence[Any]], rows: np.ndarray, size: int
) -> pa.StructArray:
    arrays = []
    for spark_field in struct_type.fields:
        values = fields.get(spark_field.name)
        kind = arrow_type(spark_field.dataType)
        if values is None:
            arrays.append(pa.nulls(len(rows), kind))
        elif isinstance(values, pa.Array):
            arrays.append(values if values.type == kind else values.cast(kind))
        elif isinstance(values, np.ndarray):
            arrays.append(pa.array(values, type=kind, from_pandas=True))
        else:
            arrays.append(pa.array(list(values), type=kind, from_pandas=True))
    names = [f.name for f in struct_type.fields]
    struct = pa.StructArray.from_arrays(arrays, names=names) if arrays else pa.nulls(len(rows), pa.struct([]))
    if len(rows) == size:
        return struct
    # Scatter the results of the rows that reached the stage; the others get a null struct.
    positions = np.full(size, -1, dtype=np.int64)
    positions[rows] = np.arange(len(rows))
    index = pa.array(positions, mask=positions < 0)
    return struct.take(index)


def run_row_stages(
    stages: Sequence[RowStage], docs: Sequence[dict[str, Any]], mode: Mode = "filter"
) -> list[dict[str, Any]]:
    """Run row stages over plain dicts (at least `text`) without Spark: for tests and `thresher explain`."""
    if not docs:
        return []
    names = list(dict.fromkeys(key for doc in docs for key in doc))
    batch = pa.RecordBatch.from_pylist([{k: d.get(k) for k in names} for d in docs])
    return FusedPass(stages, mode).run_batch(batch).to_pylist()
