"""A run's tables registered in a catalog (Unity Catalog on Databricks, or any Spark catalog with Delta).

A run still writes under its output path; a table name prefix `catalog.schema.name` adds, for each of the
run's tables, an external Delta table at that path:

    <output>/kept        ->  catalog.schema.name_kept
    <output>/excluded    ->  catalog.schema.name_excluded
    <output>/quarantine  ->  catalog.schema.name_quarantine
    <output>/stats       ->  catalog.schema.name_stats

Registering needs Spark's Delta catalog (Databricks, or a cluster started with the delta-spark package and its
session settings): the tables are Delta tables at their location, so a later run into the same output shows up
in them without registering again. With Unity Catalog, the output must lie in an external location (or a
volume's storage) that the catalog allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyspark.sql import SparkSession

from thresher.errors import ThresherError
from thresher.io.layout import OutputLayout

RUN_TABLES = ("kept", "excluded", "quarantine", "stats")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class TablePrefix:
    catalog: str
    schema: str
    name: str

    @classmethod
    def parse(cls, text: str) -> TablePrefix:
        parts = [p.strip("`") for p in text.strip().split(".")]
        if len(parts) != 3 or not all(_IDENTIFIER.match(p) for p in parts):
            raise ThresherError(
                f"table name {text!r}: expected catalog.schema.name (three names of letters, digits, '_' or '-'), "
                "e.g. main.curation.web_en"
            )
        return cls(*parts)

    def table(self, kind: str) -> str:
        """The quoted three-part name of one of the run's tables."""
        return f"`{self.catalog}`.`{self.schema}`.`{self.name}_{kind}`"


def registrations(output: str, prefix: str) -> dict[str, str]:
    """Table name -> location of each of the run's tables."""
    parsed = TablePrefix.parse(prefix)
    layout = OutputLayout(output)
    return {parsed.table(kind): getattr(layout, kind) for kind in RUN_TABLES}


def registration_statements(output: str, prefix: str) -> list[str]:
    statements = []
    for table, location in registrations(output, prefix).items():
        quoted = location.replace("\\", "\\\\").replace("'", "\\'")
        statements.append(f"CREATE TABLE IF NOT EXISTS {table} USING DELTA LOCATION '{quoted}'")
    return statements


def register_tables(spark: SparkSession, output: str, prefix: str) -> list[str]:
    """Register the run's tables under `prefix`; returns the table names. A table that exists at another
    location is refused (CREATE TABLE IF NOT EXISTS would leave it pointing elsewhere, silently)."""
    from thresher.spark import has_delta_jvm

    if not has_delta_jvm(spark):
        raise ThresherError(
            "registering tables needs Spark's Delta catalog (Databricks, or --packages io.delta:delta-spark_... "
            "with spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog)"
        )
    names = []
    for (table, location), statement in zip(
        registrations(output, prefix).items(), registration_statements(output, prefix), strict=True
    ):
        if spark.catalog.tableExists(table.replace("`", "")):
            existing = spark.sql(f"DESCRIBE DETAIL {table}").select("location").first()
            if existing is not None and existing[0].rstrip("/") != location.rstrip("/"):
                raise ThresherError(
                    f"table {table} exists at {existing[0]}, not at {location}: drop it or use another name"
                )
        spark.sql(statement)
        names.append(table)
    return names
