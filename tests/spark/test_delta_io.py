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


def test_a_checkpoint_written_by_one_task_is_read_by_every_core(spark, store, tmp_path):
    # One task wrote it (one large .jsonl.gz or WARC ingested): its row groups are small enough that the next
    # segment's read is cut into splits for both cores of local[2], not one task on one core.
    from thresher.checkpoints import CHECKPOINT_ROW_GROUP_BYTES, Checkpoints
    from thresher.io.layout import OutputLayout

    # ~24 MB of hex that Snappy cannot shrink much: three row groups at least.
    text = F.concat(*[F.sha2(F.concat(F.col("id").cast("string"), F.lit(str(salt))), 256) for salt in range(12)])
    frame = spark.range(0, 32_000, numPartitions=1).select("id", text.alias("text"))
    checkpoints = Checkpoints(OutputLayout(str(tmp_path / "out")), store)
    read_back = checkpoints.commit("00_ingest", frame)
    files = DeltaTable(str(tmp_path / "out" / "checkpoints" / "00_ingest")).file_uris()
    assert len(files) == 1
    assert ds.dataset(files).to_table().num_rows == 32_000
    groups = next(ds.dataset(files, format="parquet").get_fragments()).metadata.num_row_groups
    assert groups >= 24_000_000 // CHECKPOINT_ROW_GROUP_BYTES
    rows_per_task = read_back.groupBy(F.spark_partition_id()).count().collect()
    assert len(rows_per_task) >= 2
    assert sum(r["count"] for r in rows_per_task) == 32_000
