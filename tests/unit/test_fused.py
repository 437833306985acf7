"""The fused row-stage pass, without Spark."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pyspark.sql.types import LongType, StructField

from thresher.stages.base import RowStage, StageResult
from thresher.stages.fused import STAGE_ERROR, DocBatch, FusedPass, _PassState, count_words, run_row_stages
from thresher.stages.length import Length, LengthParams
from thresher.stages.normalize import Normalize


class _CountCalls(RowStage):
    id = "count_calls"

    def __init__(self) -> None:
        super().__init__()
        self.computed = 0

    def signal_fields(self) -> list[StructField]:
        return [StructField("words", LongType())]

    def _words(self, text: str) -> int:
        self.computed += 1
        return count_words(text)

    def process(self, batch: DocBatch) -> StageResult:
        words = batch.per_doc("thresher.words", self._words)
        return StageResult(keep=[True] * len(batch), reason=[None] * len(batch), signals={"words": words})


class _FailsOnPoison(RowStage):
    id = "fails_on_poison"

    def signal_fields(self) -> list[StructField]:
        return [StructField("chars", LongType())]

    def process(self, batch: DocBatch) -> StageResult:
        if any("poison" in t for t in batch.texts):
            raise RuntimeError("cannot handle this document")
        return StageResult([True] * len(batch), [None] * len(batch), {"chars": [len(t) for t in batch.texts]})


def test_filter_mode_later_stage_sees_only_kept_documents():
    docs = [{"doc_id": "a", "text": "one two three four"}, {"doc_id": "b", "text": "one"}]
    rows = run_row_stages([Length(LengthParams(min_words=2)), Normalize()], docs, mode="filter")
    assert rows[0]["length"] == {"keep": True, "reason": None, "chars": 18, "words": 4}
    assert rows[1]["length"]["keep"] is False and rows[1]["length"]["reason"] == "too_few_words"
    assert rows[0]["normalize"]["keep"] is True
    assert rows[1]["normalize"] is None


def test_annotate_mode_every_stage_sees_every_document():
    docs = [{"text": "one"}, {"text": "one two three"}]
    rows = run_row_stages([Length(LengthParams(min_words=2)), Normalize()], docs, mode="annotate")
    assert [r["length"]["keep"] for r in rows] == [False, True]
    assert all(r["normalize"] is not None for r in rows)


def test_rewrite_records_lengths_and_updates_text_for_later_stages():
    docs = [{"text": "Hello\u00a0\u00a0 world\r\n\r\n\r\n\r\n\r\nbye\x00"}]
    rows = run_row_stages([Normalize(), Length()], docs)
    assert rows[0]["text"] == "Hello world\n\n\nbye"
    assert rows[0]["normalize"]["chars_before"] == len(docs[0]["text"])
    assert rows[0]["normalize"]["chars_after"] == len("Hello world\n\n\nbye")
    assert rows[0]["normalize"]["words_before"] == rows[0]["normalize"]["words_after"] == 3
    assert rows[0]["length"]["chars"] == len("Hello world\n\n\nbye")


def test_per_doc_work_is_shared_between_stages_until_text_changes():
    counter = _CountCalls()
    docs = [{"text": "a b c"}, {"text": "d e"}]
    rows = run_row_stages([Length(), counter], docs)
    # Length computed the word counts; the second stage found them in the pass's cache.
    assert counter.computed == 0
    assert [r["count_calls"]["words"] for r in rows] == [3, 2]
    counter = _CountCalls()
    run_row_stages([Normalize(), counter], [{"text": "a  b\tc"}])
    assert counter.computed == 0  # normalize recorded words_after for the rewritten text


def test_a_failing_document_is_excluded_not_fatal():
    docs = [{"text": "fine"}, {"text": "poison pill"}, {"text": "also fine"}]
    rows = run_row_stages([_FailsOnPoison()], docs)
    assert [r["fails_on_poison"]["keep"] for r in rows] == [True, False, True]
    assert rows[1]["fails_on_poison"]["reason"] == f"{STAGE_ERROR}:RuntimeError"
    assert rows[0]["fails_on_poison"]["chars"] == 4


def test_output_keeps_input_columns_and_replaces_text():
    batch = pa.RecordBatch.from_pylist([{"doc_id": "x", "text": " a ", "url": "http://e.x"}])
    out = FusedPass([Normalize()], "filter").run_batch(batch)
    assert out.schema.names == ["doc_id", "text", "url", "normalize"]
    assert out.column("text").to_pylist() == ["a"]


def test_annotate_mode_keeps_the_original_text_beside_the_rewritten_one() -> None:
    # Issue 12, item 6: c4_quality / refine / pii rewrote `text` in annotate mode, losing the original.
    from thresher.stages.quality.pii import Pii, PiiParams

    docs = [{"text": "Write to a@b.example today."}, {"text": "Nothing to redact here."}]
    pii = Pii(PiiParams(redact=["email"], email_placeholder="[email]"))
    annotated = run_row_stages([pii], docs, mode="annotate")
    filtered = run_row_stages([pii], docs, mode="filter")
    assert [r["text"] for r in annotated] == [d["text"] for d in docs]
    assert [r["rewritten_text"] for r in annotated] == [r["text"] for r in filtered]
    assert annotated[0]["rewritten_text"] == "Write to [email] today."
    # A later pass goes on from the rewritten text, as a filter run would.
    again = run_row_stages([Pii(PiiParams(redact=["email"]))], annotated, mode="annotate")
    assert again[0]["text"] == docs[0]["text"] and again[0]["rewritten_text"] == "Write to [email] today."


def test_word_counts_of_a_batch_equal_count_words_and_fall_back_for_texts_arrow_cannot_hold():
    texts = ["", " a  b ", "one\u2003two\u3000three\x1cfour", "\U0001f600 x", "é"]
    rows = run_row_stages([Length()], [{"text": t} for t in texts])
    assert [r["length"]["words"] for r in rows] == [count_words(t) for t in texts] == [0, 2, 4, 2, 1]
    state = _PassState(pa.RecordBatch.from_pylist([{"text": "x"}, {"text": "y"}]))
    # A rewrite may leave a string that Arrow cannot encode (a lone surrogate): counted in Python instead.
    state.texts = ["lone \ud800 surrogate", "two words"]
    assert DocBatch(state, np.arange(2)).word_counts() == [3, 2]
