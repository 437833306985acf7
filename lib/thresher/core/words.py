"""How a document's words are counted on Spark columns (the same count as `thresher.stages.fused.count_words`)."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F


def words_column(text: Column) -> Column:
    r"""Whitespace-separated tokens of `text`, as `thresher.stages.fused.count_words` counts them: runs of
    characters that are not white space (Python's `\s` also counts U+001C..U+001F as space, Java's does not),
    counted in place without building an array of words."""
    return F.regexp_count(text, F.lit(r"(?U)[^\s\x{1c}-\x{1f}]+")).cast("long")
