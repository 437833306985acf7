"""Kept for imports written before the output layout moved to `thresher.io.layout` (its one home)."""

from thresher.io.layout import INGEST_SEGMENT, OutputLayout

__all__ = ["INGEST_SEGMENT", "OutputLayout"]
