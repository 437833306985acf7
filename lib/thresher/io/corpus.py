"""The one reader of "an extra corpus": a DSIR target, a classifier's training sources, a benchmark for
decontamination, a calibration set. Read with the pipeline's readers and the same quarantine rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from pyspark.sql import DataFrame, SparkSession

from thresher.io.delta import DeltaStore, resolve_format
from thresher.io.ingest import ingest
from thresher.io.inputs import plan_inputs
from thresher.io.spec import InputSpec


@contextmanager
def read_corpus(spark: SparkSession, inputs: Sequence[InputSpec]) -> Iterator[DataFrame]:
    """Every record of `inputs` as the ingest checkpoint holds them (documents and quarantined records; see
    `thresher.io.ingest.documents` / `QUARANTINE`). Valid while the context is open: the parsed records stay
    persisted until then, so the readers' Python parse runs once."""
    store = DeltaStore(spark, resolve_format(spark, "auto"))
    with ingest(spark, plan_inputs(spark, tuple(inputs)), store) as records:
        yield records
