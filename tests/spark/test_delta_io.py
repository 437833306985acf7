"""Delta tables through the delta-rs path: create, append, overwrite, partitions, schema checks, read-back."""

from __future__ import annotations

import pyarrow.dataset as ds
import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from thresher.errors import SchemaMismatchError, ThresherError
from thresher.io.delta import DeltaStore

pytestmark = pytest.mark.spark


@pytest.fixture
def store(spark):
    return DeltaStore(spark, "delta-rs")


def _frame(spark, ids, tag="a"):
    return spark.createDataFrame(
        [(i, f"{tag}{i}", {"k": tag}) for i in ids], "id long, name string, m map<string,string>"
    )


def test_create_append_overwrite_and_read_back(spark, store, tmp_path):
    root = str(tmp_path / "t")
    store.write(_frame(spark, range(5)), root)
    store.write(_frame(spark, range(5, 8), "b"), root, mode="append")
    assert store.version(root) == 1
    assert sorted(r.id for r in store.read(root).collect()) == list(range(8))
    # The same snapshot is readable by delta-rs itself.
    assert ds.dataset(DeltaTable(root).file_uris()).count_rows() == 8
    store.write(_frame(spark, [42], "c"), root, mode="overwrite")
    rows = store.read(root).collect()
    assert [(r.id, r.name, r.m) for r in rows] == [(42, "c42", {"k": "c"})]
    assert ds.dataset(DeltaTable(root).file_uris()).count_rows() == 1
    with pytest.raises(ThresherError, match="already exists"):
        store.write(_frame(spark, [1]), root, mode="error")


def test_append_with_other_schema_is_refused(spark, store, tmp_path):
    root = str(tmp_path / "t")
    store.write(_frame(spark, range(3)), root)
    with pytest.raises(SchemaMismatchError, match="unexpected column 'extra'"):
        store.write(_frame(spark, [9]).withColumn("extra", F.lit(1)), root, mode="append")
    with pytest.raises(SchemaMismatchError, match="column 'name' is int64"):
        store.write(_frame(spark, [9]).withColumn("name", F.lit(1).cast("long")), root, mode="append")
    with pytest.raises(SchemaMismatchError, match="missing column 'm'"):
        store.write(_frame(spark, [9]).drop("m"), root, mode="overwrite")
    store.write(_frame(spark, [9]).drop("m"), root, mode="overwrite", overwrite_schema=True)
    assert store.read(root).columns == ["id", "name"]
    assert store.read(root).count() == 1


def test_partitioned_table(spark, store, tmp_path):
    root = str(tmp_path / "p")
    frame = spark.range(30).withColumn("lang", F.when(F.col("id") % 3 == 0, "en").otherwise("fr/ca"))
    store.write(frame, root, partition_by=["lang"])
    store.write(frame.limit(3), root, mode="append", partition_by=["lang"])
    read = store.read(root)
    assert read.columns == ["id", "lang"]
    counts = {r.lang: r["count"] for r in read.groupBy("lang").count().collect()}
    assert counts == {"en": 10 + 1, "fr/ca": 20 + 2}
    assert DeltaTable(root).metadata().partition_columns == ["lang"]
    with pytest.raises(SchemaMismatchError, match="partitioned by"):
        store.write(frame, root, mode="append")


def test_empty_table(spark, store, tmp_path):
    root = str(tmp_path / "e")
    store.write(spark.createDataFrame([], "id long, text string"), root)
    assert store.exists(root)
    assert store.read(root).count() == 0
    assert store.read(root).columns == ["id", "text"]
