"""The driver's half of a run on an object store, against a local S3 (moto's server on 127.0.0.1, started here):
the manifest, segment records and resume listing, Delta commits by delta-rs (with `s3://` and `s3a://` names),
the report file, and the scheme/credential mapping. Spark's half (executors writing Parquet through S3A) needs
the hadoop-aws jars, which cannot be installed here (no Maven): tests/spark/test_object_store_errors.py checks
that its absence is one clear error instead."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from thresher.errors import ConfigError
from thresher.io import fs, objectstore
from thresher.io.delta import DeltaStore, commit_directory_of
from thresher.io.layout import OutputLayout
from thresher.manifest import Manifest, read_manifest, write_manifest
from thresher.output_lock import OutputLock, OutputLockedError
from thresher.output_safety import check_output_location

pytest.importorskip("moto.server", reason="moto and flask (the dev extra) run the local S3")

BUCKET = "thresher-test"
S3_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """A local S3 with one bucket; the environment names it the way a user points thresher at MinIO. The server
    runs in a process of its own: delta-rs holds the GIL while it waits for an answer, which would starve a
    server thread of this process."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    saved = {key: os.environ.get(key) for key in [*S3_ENVIRONMENT, "AWS_ENDPOINT_URL"]}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the local S3 server did not start") from None
                time.sleep(0.2)
        os.environ.update({**S3_ENVIRONMENT, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"})
        objectstore.configure({})
        # thresher never creates buckets; the test makes its own with a file system that may.
        admin = pafs.S3FileSystem(
            endpoint_override=f"127.0.0.1:{port}", scheme="http", region="us-east-1", allow_bucket_creation=True
        )
        admin.create_dir(BUCKET)
        yield f"s3://{BUCKET}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        objectstore.configure({})


def test_schemes_map_to_what_pyarrow_and_delta_rs_know():
    assert objectstore.for_arrow("s3a://b/k/x.json") == "s3://b/k/x.json"
    assert objectstore.for_arrow("s3://b/k") == "s3://b/k"
    assert objectstore.for_arrow("gs://b/k") == "gs://b/k"
    assert objectstore.for_arrow("abfss://c@acct.dfs.core.windows.net/p") == "abfss://c@acct.dfs.core.windows.net/p"
    assert objectstore.store_of("/tmp/x") is None and objectstore.store_of("file:///tmp/x") is None
    assert objectstore.store_of("S3A://b/k") is objectstore.S3
    assert objectstore.with_scheme_of("s3a://b/run", "b/run/kept") == "s3a://b/run/kept"
    assert (
        objectstore.with_scheme_of("abfss://c@acct.dfs.core.windows.net/run", "c/run/kept")
        == "abfss://c@acct.dfs.core.windows.net/run/kept"
    )
    with pytest.raises(Exception, match="unknown file system scheme 'ftp'"):
        fs.exists("ftp://host/x")


def test_hadoop_settings_become_explicit_storage_options():
    objectstore.configure(
        {
            "fs.s3a.access.key": "AK",
            "fs.s3a.secret.key": "SK",
            "fs.s3a.endpoint": "minio.local:9000",
            "fs.s3a.connection.ssl.enabled": "false",
            "fs.s3a.path.style.access": "true",
            "fs.azure.account.key.acct.dfs.core.windows.net": "AZKEY",
        }
    )
    try:
        options = objectstore.storage_options("s3a://b/run/kept")
        assert options is not None
        assert options["AWS_ACCESS_KEY_ID"] == "AK" and options["AWS_SECRET_ACCESS_KEY"] == "SK"
        assert options["AWS_ENDPOINT_URL"] == "http://minio.local:9000"
        assert options["AWS_ALLOW_HTTP"] == "true" and options["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"] == "false"
        assert objectstore.storage_options("abfss://c@acct.dfs.core.windows.net/run") == {
            "AZURE_STORAGE_ACCOUNT_NAME": "acct",
            "AZURE_STORAGE_ACCOUNT_KEY": "AZKEY",
        }
        assert objectstore.storage_options("/local/run") is None
    finally:
        objectstore.configure({})


def test_secrets_never_reach_the_manifest(tmp_path):
    path = str(tmp_path / "manifest.json")
    config = {"spark": {"spark.hadoop.fs.s3a.secret.key": "SK", "spark.sql.shuffle.partitions": "8"}, "run": {}}
    command = ["thresher", "run", "c.yaml", "--spark-conf", "spark.hadoop.fs.s3a.secret.key=SK"]
    write_manifest(path, Manifest(run_id="r", config=config, command=command))
    written = read_manifest(path)
    assert written is not None
    assert written.config["spark"] == {
        "spark.hadoop.fs.s3a.secret.key": objectstore.REDACTED,
        "spark.sql.shuffle.partitions": "8",
    }
    assert written.command[-1] == f"spark.hadoop.fs.s3a.secret.key={objectstore.REDACTED}"
    assert "SK" not in Path(path).read_text()
    assert config["spark"]["spark.hadoop.fs.s3a.secret.key"] == "SK"  # the run itself keeps its settings


@pytest.mark.parametrize("scheme", ["s3", "s3a"])
def test_manifest_segment_records_and_resume_listing_on_s3(s3, scheme):
    layout = OutputLayout(f"{scheme}://{BUCKET}/runs/{scheme}-listing")
    assert read_manifest(layout.manifest) is None and layout.existing_checkpoints() == []
    write_manifest(layout.manifest, Manifest(run_id="r1"))
    fs.write_text_atomic(layout.segment_info("00_ingest"), json.dumps({"fingerprint": "abc"}))
    fs.write_text_atomic(layout.segment_info("01_normalize"), json.dumps({"fingerprint": "def"}))
    manifest = read_manifest(layout.manifest)
    assert manifest is not None and manifest.run_id == "r1" and manifest.updated_at is not None
    # What resume looks at: the committed checkpoints and what produced each.
    assert layout.existing_checkpoints() == ["00_ingest", "01_normalize"]
    assert json.loads(fs.read_text(layout.segment_info("01_normalize"))) == {"fingerprint": "def"}
    # A recomputed segment is removed whole; the rest stays.
    fs.delete(layout.checkpoint("01_normalize"))
    assert layout.existing_checkpoints() == ["00_ingest"]
    assert fs.exists(layout.manifest) and not fs.exists(layout.segment_info("01_normalize"))
    listed = [objectstore.with_scheme_of(layout.root, f.path) for f in fs.list_files(layout.root)]
    assert listed == [layout.manifest]  # `_segment.json` is hidden, like every `_` file
    assert fs.list_dir(layout.root) == ["checkpoints", "manifest.json"]  # what an output-directory check sees
    assert fs.list_dir(fs.join(layout.root, "nothing-here")) == []


def _executor_output(root: str, commit_dir: str, table: pa.Table, partition_by: list[str]) -> None:
    """What Spark's executors leave in a commit directory: Parquet files (hive-partitioned when asked)."""
    filesystem, base = fs.filesystem(fs.join(root, commit_dir))
    partitioning = ds.partitioning(table.select(partition_by).schema, flavor="hive") if partition_by else None
    ds.write_dataset(
        table,
        base,
        filesystem=filesystem,
        format="parquet",
        partitioning=partitioning,
        basename_template="part-{i}.parquet",
    )


@pytest.mark.parametrize("scheme", ["s3", "s3a"])
def test_delta_rs_commits_on_s3(s3, scheme):
    root = f"{scheme}://{BUCKET}/runs/{scheme}-delta/kept"
    store = DeltaStore(None, "delta-rs")  # type: ignore[arg-type]  # the driver's half needs no Spark
    schema = pa.schema([("doc_id", pa.string()), ("lang", pa.string()), ("words", pa.int64())])
    first = pa.table({"doc_id": ["a", "b", "c"], "lang": ["en", "de", "en"], "words": [5, 7, 9]}, schema=schema)
    second = pa.table({"doc_id": ["d"], "lang": ["fr"], "words": [11]}, schema=schema)
    assert not store.exists(root) and store.version(root) is None

    _executor_output(root, "part-0001", first, ["lang"])
    store.commit_directory(root, "part-0001", schema, "error", ["lang"])
    _executor_output(root, "part-0002", second, ["lang"])
    store.commit_directory(root, "part-0002", schema, "append", ["lang"])

    assert store.version(root) == 1
    table = DeltaTable(objectstore.for_arrow(root), storage_options=objectstore.storage_options(root))
    assert table.metadata().partition_columns == ["lang"]
    files = table.file_uris()
    assert len(files) == 3 and all(f.startswith(f"s3://{BUCKET}/runs/{scheme}-delta/kept/part-000") for f in files)
    rows = {}
    for uri in files:
        filesystem, path = fs.filesystem(uri)
        lang = next(p.split("=", 1)[1] for p in path.split("/") if p.startswith("lang="))
        for row in pq.read_table(path, filesystem=filesystem).to_pylist():
            rows[row["doc_id"]] = (lang, row["words"])
    assert rows == {"a": ("en", 5), "b": ("de", 7), "c": ("en", 9), "d": ("fr", 11)}

    # An overwrite replaces the snapshot; the earlier files stay for time travel (and are not read).
    _executor_output(root, "part-0003", second, ["lang"])
    store.commit_directory(root, "part-0003", schema, "overwrite", ["lang"])
    assert store.version(root) == 2
    table = DeltaTable(objectstore.for_arrow(root), storage_options=objectstore.storage_options(root))
    assert [u.split("/kept/", 1)[1].split("/", 1)[0] for u in table.file_uris()] == ["part-0003"]


def test_report_file_is_written_on_s3(s3):
    layout = OutputLayout(f"s3a://{BUCKET}/runs/report")
    fs.write_text_atomic(layout.report, "<html>first</html>")
    fs.write_text_atomic(layout.report, "<html>second</html>")
    assert fs.read_text(layout.report) == "<html>second</html>"
    assert [f.path for f in fs.list_files(layout.root)] == [f"{BUCKET}/runs/report/report.html"]


def test_data_files_are_grouped_by_commit_whatever_scheme_delta_rs_names_them():
    assert commit_directory_of("s3://b/run/kept/part-1/lang=en/x.parquet", "s3a://b/run/kept") == "part-1"
    assert commit_directory_of("s3://b/run/kept/part-2/x.parquet", "s3://b/run/kept/") == "part-2"
    assert commit_directory_of("file:///tmp/run/kept/part-3/x.parquet", "/tmp/run/kept") == "part-3"
    assert commit_directory_of("file:///home/u/runs/x/kept/part-4/x.parquet", "runs/x/kept") == "part-4"
    with pytest.raises(Exception, match="outside it"):
        commit_directory_of("s3://other/kept/part-1/x.parquet", "s3a://b/run/kept")


@pytest.mark.parametrize("scheme", ["s3", "s3a"])
def test_the_output_lock_and_safety_checks_work_on_s3(s3, scheme):
    output = f"{scheme}://{BUCKET}/runs/{scheme}-locked"
    check_output_location(output, ["/data/in/*.jsonl"], allow_other_files=False)
    with OutputLock(output) as held:
        assert fs.exists(held.path)
        with pytest.raises(OutputLockedError, match="in use by another thresher run"):
            OutputLock(output).acquire()
        # The lock file is thresher's own: it never makes the output look foreign.
        check_output_location(output, ["/data/in/*.jsonl"], allow_other_files=False)
    assert not fs.exists(held.path)
    fs.write_text_atomic(f"{output}/notes.txt", "a user's file")
    with pytest.raises(ConfigError, match="holds files thresher did not write"):
        check_output_location(output, ["/data/in/*.jsonl"], allow_other_files=False)


def test_create_exclusive_on_s3_is_a_conditional_put(s3, monkeypatch):
    # Issue 12, item 12: the lock's create-if-absent is one conditional PutObject (If-None-Match: *), which the
    # local S3 honours: of many writers racing for one key exactly one wins, the key keeps the winner's text.
    from concurrent.futures import ThreadPoolExecutor

    key = f"{s3}/runs/race/_thresher.lock"
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda n: fs.create_exclusive(key, f"writer {n}"), range(8)))
    assert won.count(True) == 1
    assert fs.read_text(key) == f"writer {won.index(True)}"
    # The check-then-write fallback is never reached on S3: a write that skipped the condition would overwrite.
    monkeypatch.setattr(fs, "exists", lambda path: False)
    assert fs.create_exclusive(key, "late writer") is False
    assert fs.read_text(key) == f"writer {won.index(True)}"
