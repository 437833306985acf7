"""Token counts as a Spark column: the configured tokenizer (`run.tokenizer`) run on the executors.

The texts travel to the Python workers in Arrow batches (a pandas UDF over the text column alone); each worker
loads the tokenizer once (`thresher.text.tokens.token_counter`) and counts a whole batch per call.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType

from thresher.schema import TEXT

# The column of token counts on every row of kept/ and excluded/ when run.tokenizer is set.
TOKENS = "tokens"


def token_count(text: Column, tokenizer: str) -> Column:
    """Tokens of `text` under the tokenizer file `tokenizer` (long; 0 for an empty or null text)."""

    def count(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        from thresher.text.tokens import token_counter

        counter = token_counter(tokenizer)
        for texts in batches:
            yield pd.Series(counter.count(texts.tolist()), index=texts.index, dtype="int64")

    return F.pandas_udf(count, LongType())(text)  # type: ignore[call-overload]


def with_tokens(frame: DataFrame, tokenizer: str | None, after: str | None = None) -> DataFrame:
    """`frame` with the `tokens` column of its text (replacing one it has), placed after column `after`
    (else last); unchanged without a tokenizer."""
    if tokenizer is None:
        return frame
    columns = [c for c in frame.columns if c != TOKENS]
    counted = token_count(F.col(TEXT), tokenizer).alias(TOKENS)
    if after is None or after not in columns:
        return frame.select(*columns, counted)
    at = columns.index(after) + 1
    return frame.select(*columns[:at], counted, *columns[at:])
