"""Which input file most of a run's quarantined records came from, for the quarantine limit's error: a run that
fails because one file is garbage should name that file, and say when the likely cause is a corrupt compressed
file rather than a wrong `input.format` (issue 12, item 10)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from thresher.io.ingest import quarantined
from thresher.io.jsonl import UNCHECKED_FRAME_NOTE, UNREADABLE_FILE

_COMPRESSED = (".gz", ".zst", ".zstd")


def worst_quarantined_file(ingested: DataFrame) -> str:
    """A clause naming the file with the most quarantined records (how many of its records) and the likely
    cause when it is a compressed file; empty when nothing is quarantined."""
    rows = (
        quarantined(ingested)
        .groupBy("file")
        .agg(
            F.count(F.lit(1)).alias("quarantined"),
            F.max(F.col("error").contains(UNCHECKED_FRAME_NOTE)).alias("unchecked_frames"),
            F.max(F.col("reason") == F.lit(UNREADABLE_FILE)).alias("unreadable"),
        )
        .orderBy(F.desc("quarantined"), "file")
        .limit(1)
        .collect()
    )
    if not rows:
        return ""
    worst = rows[0]
    records = ingested.where(F.col("origin.file") == F.lit(worst.file)).count()
    clause = f"; most are in {worst.file} ({worst.quarantined} of its {records} records)"
    if worst.unchecked_frames or worst.unreadable or worst.file.lower().endswith(_COMPRESSED):
        clause += ": likely a corrupt compressed file"
        if worst.unchecked_frames:
            clause += " (its zstd frames have no content checksum, so damage decodes to garbled lines)"
        clause += ", check it (e.g. `zstd -t` / `gzip -t`) and replace it"
    return clause
