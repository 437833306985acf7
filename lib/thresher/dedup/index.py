"""The dedup index: everything earlier runs kept, as one Delta table that each new dump is deduplicated against.

One row per (kind, document): `kind` is `text_hash` (exact_dedup), `url_key` (url_dedup) or `minhash`
(minhash_dedup); `key` holds the text hash or normalized URL, `buckets` the MinHash band keys and `sketch` what
verification needs (the shingle set for exact Jaccard, the signature for estimated Jaccard); `settings` is the
JSON of the settings the keys were made with (an index is refused by a stage with other settings: its keys would
never match); `run_id` and `doc_id` name the document. The table is partitioned by kind and a shard of the key,
so a stage reads only its kind.

Updates are atomic and idempotent:
* a stage of a run that updates the index takes the index's lease (`_thresher_lease.json`: one updating run at
  a time; a run on this host whose process is gone gives it up), notes the index version it matched against,
  and stages the rows of the documents it kept under `_staged/` (hidden from Delta readers and VACUUM);
* at the end of the run, `commit` appends the staged rows of the documents the whole run kept in ONE Delta
  commit, unless the index already holds rows of that run id (a rerun or resume adds nothing twice), and only
  when the index is still at the version the stages matched against (otherwise their decisions are stale);
* a killed run commits nothing; its resume (same run id) takes the lease over and commits at its end.

Reading the index never collects document-scale data: earlier documents are joined with the new ones on the
executors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, IntegerType, LongType, StringType, StructField, StructType

from thresher.core.processes import process_alive
from thresher.dedup.clusters import CLUSTER, CLUSTER_ID, CLUSTER_SIZE, DUPLICATE_OF, RANK, decide, kept_alone
from thresher.errors import ThresherError
from thresher.io import fs
from thresher.io.delta import DeltaStore, resolve_format
from thresher.schema import DOC_ID, KEEP, REASON

log = logging.getLogger(__name__)

DUPLICATE_OF_EARLIER_RUN = "duplicate_of_earlier_run"
# Struct field of the dedup stages that use an index: the run that kept the earlier document this one duplicates
# (or that kept this very document, when its doc_id is already in the index).
EARLIER_RUN = "earlier_run"
EARLIER_RUN_FIELD = StructField(EARLIER_RUN, StringType(), True)

KIND, SHARD, SETTINGS, RUN_ID, KEY, BUCKETS, SKETCH = "kind", "shard", "settings", "run_id", "key", "buckets", "sketch"
# As in thresher.dedup.lsh: graph nodes and band buckets.
NODE, BUCKET = "node", "bucket"
# Shards of each kind: bounded files per commit, and partitions that OPTIMIZE / compact can work on in parallel.
SHARDS = 8
LEASE_FILE = "_thresher_lease.json"
STAGED_DIR = "_staged"
DONE_DIR = "_done_runs"
INDEX_SCHEMA = StructType(
    [
        StructField(KIND, StringType(), True),
        StructField(SHARD, IntegerType(), True),
        StructField(SETTINGS, StringType(), True),
        StructField(DOC_ID, StringType(), True),
        StructField(RUN_ID, StringType(), True),
        StructField(KEY, StringType(), True),
        StructField(BUCKETS, ArrayType(LongType(), True), True),
        StructField(SKETCH, ArrayType(LongType(), True), True),
    ]
)
# Staged rows: what a stage knows of its kept documents (kind, settings and run come from the staging metadata).
STAGED_COLUMNS = [DOC_ID, KEY, BUCKETS, SKETCH]


class IndexBusyError(ThresherError):
    """Another run holds the index's lease."""


class IndexConflictError(ThresherError):
    """The index changed between the run's matching and its commit, or was made with other settings."""


def settings_json(settings: dict[str, Any]) -> str:
    return json.dumps(settings, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class IndexCommit:
    """What `DedupIndex.commit` did: `committed`, `nothing_new` (every kept document was indexed already),
    `already_committed` (a rerun of a run that committed)."""

    status: str
    version: int | None
    documents_added: dict[str, int]


@dataclass(frozen=True)
class IndexLease:
    """The file `_thresher_lease.json` in an index: which run is updating it (one at a time)."""

    path: str

    @property
    def file(self) -> str:
        return fs.join(self.path, LEASE_FILE)

    def acquire(self, run_id: str, output: str | None = None) -> None:
        """Hold the index for `run_id` (again, when it already does); refused while another live run holds it."""
        lease = {"run_id": run_id, "output": output, "host": socket.gethostname(), "pid": os.getpid()}
        lease["since"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        text = json.dumps(lease, indent=2) + "\n"
        if fs.create_exclusive(self.file, text):
            return
        holder = self.holder()
        if holder is None or holder.get("run_id") == run_id:
            fs.write_text_atomic(self.file, text)
            return
        if holder.get("host") == socket.gethostname() and not process_alive(int(holder.get("pid", 0))):
            log.warning(
                "dedup index %s: taking over the lease of run %s (process %s is gone); if that run is resumed, "
                "its index update will be refused",
                self.path,
                holder.get("run_id"),
                holder.get("pid"),
            )
            fs.write_text_atomic(self.file, text)
            return
        raise IndexBusyError(
            f"dedup index {self.path} is being updated by run {holder.get('run_id')!r} (output "
            f"{holder.get('output')}, host {holder.get('host')}, pid {holder.get('pid')}, "
            f"since {holder.get('since')}); "
            "two runs may not update one index at once: wait for it, run this one with update_index: false, or, if "
            f"that run is dead and abandoned, delete {self.file}"
        )

    def release(self, run_id: str) -> None:
        holder = self.holder()
        if holder is not None and holder.get("run_id") == run_id:
            fs.delete(self.file)

    def holder(self) -> dict[str, Any] | None:
        try:
            return json.loads(fs.read_text(self.file))
        except FileNotFoundError:
            return None
        except json.JSONDecodeError:
            # A lease being written right now: treat it as held by an unknown run.
            return {"run_id": None}


class DedupIndex:
    """The dedup index at `path` (a directory or object-store URI)."""

    def __init__(self, spark: SparkSession, path: str, table_format: str = "auto") -> None:
        self.spark = spark
        self.path = path.rstrip("/")
        self.store = DeltaStore(spark, resolve_format(spark, table_format))

    # -- reading ---------------------------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.store.exists(self.path)

    def version(self) -> int | None:
        return self.store.version(self.path)

    def rows(self) -> DataFrame:
        if not self.exists():
            return self.spark.createDataFrame([], INDEX_SCHEMA)
        return self.store.read(self.path)

    def entries(self, kind: str, settings: dict[str, Any]) -> DataFrame:
        """doc_id, run_id, key, buckets, sketch of the index's documents of `kind`; refused when they were made
        with other settings than `settings`."""
        rows = self.rows().where(F.col(KIND) == kind)
        wanted = settings_json(settings)
        found = [r[SETTINGS] for r in rows.select(SETTINGS).distinct().limit(2).collect()]
        other = [s for s in found if s != wanted]
        if other:
            raise IndexConflictError(
                f"dedup index {self.path} holds {kind} keys made with other settings "
                f"({_describe_difference(json.loads(other[0]), settings)}); use the settings the index was made "
                "with, or another index"
            )
        return rows.select(DOC_ID, RUN_ID, KEY, BUCKETS, SKETCH)

    def has_run(self, run_id: str) -> bool:
        """Whether the run's end-of-run commit happened (its done marker, or its rows when it was killed between
        the Delta commit and the marker)."""
        if fs.exists(self._done_marker(run_id)):
            return True
        return bool(self.exists() and self.rows().where(F.col(RUN_ID) == run_id).limit(1).count())

    # -- the lease: one updating run at a time ---------------------------------------------------------------

    def acquire(self, run_id: str, output: str | None = None) -> None:
        IndexLease(self.path).acquire(run_id, output)

    def release(self, run_id: str) -> None:
        IndexLease(self.path).release(run_id)

    # -- staging and the end-of-run commit -------------------------------------------------------------------

    def staged_path(self, run_id: str, stage_id: str) -> str:
        return fs.join(self.path, STAGED_DIR, _run_dir(run_id), stage_id)

    def stage(
        self,
        run_id: str,
        stage_id: str,
        kind: str,
        settings: dict[str, Any],
        read_version: int | None,
        rows: DataFrame,
    ) -> None:
        """Keep `rows` (doc_id, key, buckets, sketch of the documents the stage kept) for the end-of-run commit,
        with the index version the stage matched against."""
        path = self.staged_path(run_id, stage_id)
        rows.select(*STAGED_COLUMNS).write.mode("overwrite").parquet(fs.join(path, "rows"))
        meta = {"run_id": run_id, "kind": kind, "settings": settings_json(settings), "read_version": read_version}
        fs.write_text_atomic(fs.join(path, "meta.json"), json.dumps(meta) + "\n")

    def commit(self, run_id: str, stage_ids: list[str], kept_ids: DataFrame, output: str | None = None) -> IndexCommit:
        """Append the staged rows of `stage_ids` for the documents in `kept_ids` (doc_id) in one Delta commit."""
        self.acquire(run_id, output)
        if self.has_run(run_id):
            log.info("dedup index %s already holds run %s: nothing added", self.path, run_id)
            self._finish(run_id)
            return IndexCommit("already_committed", self.version(), {})
        metas = {}
        for stage_id in stage_ids:
            meta_path = fs.join(self.staged_path(run_id, stage_id), "meta.json")
            if not fs.exists(meta_path):
                raise ThresherError(
                    f"dedup index {self.path}: the rows stage {stage_id} staged for run {run_id} are missing "
                    f"({meta_path}); delete the checkpoint of {stage_id} and every later one in the run's output "
                    "and run again to recompute them"
                )
            metas[stage_id] = json.loads(fs.read_text(meta_path))
        current = self.version()
        for stage_id, meta in metas.items():
            if meta["read_version"] != current:
                raise IndexConflictError(
                    f"dedup index {self.path} changed since stage {stage_id} of run {run_id} matched against it "
                    f"(version {meta['read_version']} -> {current}): its decisions may miss the new documents. "
                    f"Delete the checkpoint of {stage_id} and every later one in the run's output and run again"
                )
        frames: list[DataFrame] = [
            self.spark.read.parquet(fs.join(self.staged_path(run_id, stage_id), "rows")).select(
                F.lit(meta["kind"]).alias(KIND),
                F.lit(meta["settings"]).alias(SETTINGS),
                *STAGED_COLUMNS,
            )
            for stage_id, meta in metas.items()
        ]
        staged = frames[0]
        for frame in frames[1:]:
            staged = staged.unionByName(frame)
        added = staged.join(kept_ids.select(DOC_ID), DOC_ID, "left_semi").select(
            KIND, _shard().alias(SHARD), SETTINGS, DOC_ID, F.lit(run_id).alias(RUN_ID), KEY, BUCKETS, SKETCH
        )
        # One writer task per partition of the table: a few files per commit, whatever the data's partitioning.
        added = added.repartition(KIND, SHARD)
        counts = {r[KIND]: int(r["count"]) for r in added.groupBy(KIND).count().collect()}
        if counts:
            self.store.write(added, self.path, mode="append", partition_by=[KIND, SHARD])
        version = self.version()
        log.info("dedup index %s: run %s added %s (version %s)", self.path, run_id, counts or "nothing", version)
        # Also a run that added nothing (all its documents were indexed already) is marked done: a rerun of it
        # finds the marker, as a rerun of a run that added documents finds its rows.
        marker = {"run_id": run_id, "version": version, "documents_added": counts}
        fs.write_text_atomic(self._done_marker(run_id), json.dumps(marker) + "\n")
        self._finish(run_id)
        return IndexCommit("committed" if counts else "nothing_new", version, counts)

    def _done_marker(self, run_id: str) -> str:
        return fs.join(self.path, DONE_DIR, _run_dir(run_id) + ".json")

    def _finish(self, run_id: str) -> None:
        fs.delete(fs.join(self.path, STAGED_DIR, _run_dir(run_id)))
        self.release(run_id)

    # -- maintenance -----------------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Documents, runs, rows per kind, files and bytes of the current snapshot."""
        if not self.exists():
            raise ThresherError(f"no dedup index at {self.path}")
        rows = self.rows()
        kinds = {r[KIND]: int(r["count"]) for r in rows.groupBy(KIND).count().collect()}
        runs = {
            r[RUN_ID]: int(r["documents"])
            for r in rows.groupBy(RUN_ID).agg(F.countDistinct(DOC_ID).alias("documents")).collect()
        }
        documents = rows.select(DOC_ID).distinct().count()
        files, size = self._files_and_bytes()
        return {
            "path": self.path,
            "version": self.version(),
            "documents": documents,
            "runs": dict(sorted(runs.items())),
            "rows_per_kind": dict(sorted(kinds.items())),
            "files": files,
            "bytes": size,
            "lease": IndexLease(self.path).holder(),
        }

    def _files_and_bytes(self) -> tuple[int, int]:
        if self.store.format == "delta-spark":
            detail = self.spark.sql(f"DESCRIBE DETAIL delta.`{self.path}`").first()
            return int(detail["numFiles"]), int(detail["sizeInBytes"])
        from deltalake import DeltaTable

        actions = DeltaTable(self.path).get_add_actions(flatten=True)
        sizes = actions.column("size_bytes").to_pylist()
        return len(sizes), int(sum(sizes))


# -- matching a new run against the index -------------------------------------------------------------------


def split_known(frame: DataFrame, entries: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(fresh, known): the rows of `frame` whose doc_id is not / is already in the index; `known` gains
    `earlier_run` (the run that indexed it). A known document is the earlier document itself (the same dump
    processed again): it keeps its earlier decision and is never matched against itself."""
    indexed = entries.select(DOC_ID, F.col(RUN_ID).alias(EARLIER_RUN))
    return frame.join(indexed, DOC_ID, "left_anti"), frame.join(indexed, DOC_ID)


def earliest_rank() -> Column:
    """A keep-policy rank before every document of the new run: an earlier run's copy is always the kept one."""
    return F.struct(F.lit(False).alias("missing"), F.lit(float("-inf")).alias("rank"))


def decide_with_index(
    fresh: DataFrame, earlier: DataFrame, known: DataFrame, reason: str, signals: list[str]
) -> DataFrame:
    """Decisions for the documents of the new run.

    `fresh` (doc_id, cluster, rank, *signals): the new documents, clustered as without an index; `earlier`
    (doc_id, cluster, earlier_run): index documents in the same clusters; `known` (doc_id, earlier_run,
    *signals): new documents already in the index. A cluster with an earlier document keeps it: the new
    members are excluded with reason `duplicate_of_earlier_run`, pointing to it and its run. Returns the
    columns of `clusters.decide` plus `earlier_run`.
    """
    typed = {f.name: f.dataType for f in fresh.schema.fields}
    earlier_members = earlier.select(
        DOC_ID,
        CLUSTER,
        earliest_rank().alias(RANK),
        *[F.lit(None).cast(typed[s]).alias(s) for s in signals],
        F.col(EARLIER_RUN),
    )
    members = fresh.select(DOC_ID, CLUSTER, RANK, *signals, F.lit(None).cast("string").alias(EARLIER_RUN)).unionByName(
        earlier_members
    )
    decided = decide(members, reason, [*signals, EARLIER_RUN]).where(F.col(EARLIER_RUN).isNull()).drop(EARLIER_RUN)
    runs = earlier.select(F.col(DOC_ID).alias(DUPLICATE_OF), F.col(EARLIER_RUN)).distinct()
    columns = [DOC_ID, KEEP, REASON, DUPLICATE_OF, CLUSTER_ID, CLUSTER_SIZE, *signals]
    # Kept documents (duplicate_of null) skip the join: null keys would all meet in one task.
    pointing = decided.where(F.col(DUPLICATE_OF).isNotNull()).join(runs, DUPLICATE_OF, "left")
    pointing = pointing.select(
        *[
            F.when(F.col(EARLIER_RUN).isNotNull(), F.lit(DUPLICATE_OF_EARLIER_RUN)).otherwise(F.col(REASON)).alias(c)
            if c == REASON
            else F.col(c)
            for c in columns
        ],
        EARLIER_RUN,
    )
    alone = decided.where(F.col(DUPLICATE_OF).isNull()).select(*columns, F.lit(None).cast("string").alias(EARLIER_RUN))
    # Documents already in the index are their earlier selves, kept as they were.
    return pointing.unionByName(alone).unionByName(kept_alone(known, [*signals, EARLIER_RUN]))


def earlier_by_key(fresh_keys: DataFrame, entries: DataFrame) -> DataFrame:
    """(doc_id, cluster, earlier_run) of the index documents whose key is the key of a new document."""
    wanted = fresh_keys.where(F.col(CLUSTER).isNotNull()).select(CLUSTER).distinct()
    matched = entries.where(F.col(KEY).isNotNull()).select(
        DOC_ID, F.col(KEY).alias(CLUSTER), F.col(RUN_ID).alias(EARLIER_RUN)
    )
    return matched.join(wanted, CLUSTER, "left_semi")


def _shard() -> Column:
    return F.pmod(F.xxhash64(F.coalesce(F.col(KEY), F.col(DOC_ID))), F.lit(SHARDS)).cast("int")


def _run_dir(run_id: str) -> str:
    # Run ids are user-given: the directory is named by a hash, the metadata keeps the id.
    return "run-" + hashlib.sha256(run_id.encode()).hexdigest()[:16]


def _describe_difference(found: dict[str, Any], wanted: dict[str, Any]) -> str:
    changes = [
        f"{key}: index {found.get(key)!r}, stage {wanted.get(key)!r}"
        for key in sorted(set(found) | set(wanted))
        if found.get(key) != wanted.get(key)
    ]
    return "; ".join(changes) or "different settings"


@dataclass(frozen=True)
class IndexUse:
    """One stage's use of an index in one run: its kind of keys, their settings, whether it updates the index."""

    index: DedupIndex
    run_id: str
    stage_id: str
    kind: str
    settings: dict[str, Any]
    update: bool
    # The index version the stage matches against (None: no index yet); checked again at the commit.
    read_version: int | None

    @classmethod
    def open(
        cls,
        spark: SparkSession,
        path: str,
        run_id: str,
        stage_id: str,
        kind: str,
        settings: dict[str, Any],
        update: bool,
    ) -> IndexUse:
        index = DedupIndex(spark, path)
        if update:
            index.acquire(run_id)
        return cls(index, run_id, stage_id, kind, settings, update, index.version())

    def entries(self) -> DataFrame:
        return self.index.entries(self.kind, self.settings)

    def stage_kept(self, rows: DataFrame) -> None:
        """Stage the rows (doc_id, key, buckets, sketch) of the documents this stage kept and that are not in
        the index yet, for the end-of-run commit (nothing when the run only reads the index)."""
        if self.update:
            self.index.stage(self.run_id, self.stage_id, self.kind, self.settings, self.read_version, rows)


def decide_keys_with_index(keyed: DataFrame, entries: DataFrame, reason: str, signals: list[str]) -> DataFrame:
    """`decide_with_index` for exact keys: `keyed` has doc_id, cluster (the key), rank, *signals."""
    fresh, known = split_known(keyed, entries)
    return decide_with_index(fresh, earlier_by_key(fresh, entries), known, reason, signals)


def index_metrics() -> list[Column]:
    """Aggregates over a stage's decisions (for `clusters.cluster_summary`) describing its use of the index."""
    earlier = F.col(EARLIER_RUN).isNotNull()
    return [
        F.count(F.when(F.col(REASON) == DUPLICATE_OF_EARLIER_RUN, 1)).alias("duplicates_of_earlier_runs"),
        F.count(F.when(earlier & F.col(KEEP), 1)).alias("documents_already_indexed"),
    ]


def earlier_candidates(entries: DataFrame, fresh_buckets: DataFrame) -> DataFrame:
    """The index documents sharing a band bucket with a new document (`fresh_buckets`: bucket), numbered with
    negative nodes (new documents have nodes >= 0): node, doc_id, earlier_run, buckets, sketch.

    Only buckets of the new run are looked up: the index's own buckets never become edges, so the work grows
    with one scan of the index, not with its candidate pairs."""
    wanted = fresh_buckets.select(BUCKET).distinct()
    hits = entries.select(DOC_ID, F.explode(BUCKETS).alias(BUCKET)).join(wanted, BUCKET, "left_semi")
    candidates = entries.join(hits.select(DOC_ID).distinct(), DOC_ID, "left_semi")
    return candidates.orderBy(DOC_ID).select(
        (-(F.monotonically_increasing_id() + 1)).alias(NODE),
        DOC_ID,
        F.col(RUN_ID).alias(EARLIER_RUN),
        BUCKETS,
        SKETCH,
    )


def minhash_settings(settings: dict[str, Any], verify: str) -> dict[str, Any]:
    """The settings a MinHash index entry depends on: band keys and the sketch kind verification reads."""
    sketch = {"exact": "shingle_set", "signature": "signature"}.get(verify, "none")
    return {**settings, "sketch": sketch}
