"""Runs a pipeline: ingest, then each segment of stages, each committed as a checkpoint, then the final tables.

Resume: a checkpoint is reused when its Delta commit exists and its recorded fingerprint equals the plan's
(same input files, same parameters of it and of every stage before it). A committed checkpoint with another
fingerprint stops the run with a message naming what changed; uncommitted leftovers of a killed run are
removed and recomputed.

Stopping early (`until`): the plan is always made from the whole config, so fusion and fingerprints are those
of the full pipeline; the run stops after the segment that contains the given stage and writes no final tables.
A later run of the same pipeline (with a later `until`, or none) reuses what it committed. Committed checkpoints
after the stopping point are left alone: they belong to the same plan. This lets a scheduler run a pipeline as
a chain of tasks, each a prefix of the next, where a retried task never redoes a committed segment.

Conservation: after every segment the stats computed from the committed checkpoint must show that each stage
decided on exactly the documents handed to it; at the end `input records == kept + excluded + quarantine` is
checked by counting the written tables.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyspark.accumulators import AccumulatorParam
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from thresher.conf import PipelineConfig
from thresher.errors import ConfigError, InvariantError, ResumeError, ThresherError
from thresher.io import fs
from thresher.io.delta import DeltaStore, resolve_format
from thresher.io.ingest import documents, ingest, quarantined
from thresher.io.inputs import PlannedInput, fingerprint, plan_inputs
from thresher.io.objectstore import require_spark_filesystems
from thresher.layout import INGEST_SEGMENT, OutputLayout
from thresher.manifest import new_manifest, now, read_manifest, write_manifest
from thresher.plan import Plan, Segment, make_plan
from thresher.schema import CANONICAL_COLUMNS, KEEP, REASON, STAGE, STATS_SCHEMA
from thresher.spark import get_spark, set_job_description
from thresher.stages.base import GlobalStage, Stage, StageContext
from thresher.stages.fused import FusedPass
from thresher.stats import StageTiming, ingest_stats, segment_stats

log = logging.getLogger("thresher")


class _SecondsByStage(AccumulatorParam):
    """Sums {stage id: seconds} from the Python workers of a fused pass."""

    def zero(self, value: dict[str, float]) -> dict[str, float]:
        return {}

    def addInPlace(self, value1: dict[str, float], value2: dict[str, float]) -> dict[str, float]:
        for key, seconds in value2.items():
            value1[key] = value1.get(key, 0.0) + seconds
        return value1


@dataclass
class RunResult:
    run_id: str
    output: str
    totals: dict[str, int]
    stats: list[dict[str, Any]]
    reused: list[str] = field(default_factory=list)
    # Set when the run stopped early (`until`): the last segment it ran or reused. No final tables then.
    stopped_after: str | None = None


def run_pipeline(config: PipelineConfig, spark: SparkSession | None = None, until: str | None = None) -> RunResult:
    """Run `config`; with `until` (a stage id), stop after the segment that contains that stage."""
    return Runner(config, spark).run(until)


class Runner:
    def __init__(self, config: PipelineConfig, spark: SparkSession | None = None) -> None:
        if not config.run.output:
            raise ConfigError("run.output: required (set it in the config or pass --output)")
        self.config = config
        self.mode = config.run.mode
        self.layout = OutputLayout(config.run.output)
        self.spark = spark or get_spark(config.spark)
        require_spark_filesystems(self.spark, [config.run.output, *(p for i in config.inputs for p in i.path)])
        self.spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(config.run.batch_size))
        self.store = DeltaStore(self.spark, resolve_format(self.spark, config.run.table_format))
        self.stats_rows: dict[str, dict[str, Any]] = {}

    # -- the run ---------------------------------------------------------------------------------------------

    def run(self, until: str | None = None) -> RunResult:
        planned = plan_inputs(self.spark, self.config.inputs)
        plan = make_plan(self.config, fingerprint(planned))
        last = plan.segment_of(until) if until is not None else None
        # A refused resume must leave the existing run's manifest and tables untouched.
        existing = read_manifest(self.layout.manifest)
        finished_before = existing is not None and existing.get("status") == "succeeded"
        self._check_run_id(existing)
        reused = self._reusable_segments(plan)
        manifest = self._open_manifest(existing, plan, planned)
        run_id = manifest["run_id"]
        try:
            self.stats_rows = self._existing_stats(run_id)
            ingested = self._run_ingest(plan, planned, manifest, reused)
            previous: DataFrame | None = None
            previous_segment: Segment | None = None
            stage_index = 1
            passed = int(self.stats_rows["ingest"]["docs_out"])
            ran = [INGEST_SEGMENT]
            for segment in plan.segments:
                if previous is None:
                    segment_input = documents(ingested)
                else:
                    segment_input = self._passed_on(previous, previous_segment)
                previous = self._run_segment(
                    segment, segment_input, stage_index, passed, manifest, reused, plan.stages_before(segment)
                )
                previous_segment = segment
                stage_index += len(segment.stages)
                passed = int(self.stats_rows[segment.last.id]["docs_out"])
                ran.append(segment.name)
                if segment == last:
                    break
            if last is None:
                totals = self._finalize(plan, ingested, previous, manifest)
            else:
                self._stop_early(last, manifest, finished_before, recomputed=not reused.issuperset(ran))
                totals = {}
        except BaseException as error:
            manifest["status"] = "failed"
            manifest["error"] = f"{type(error).__name__}: {error}"
            write_manifest(self.layout.manifest, manifest)
            # The stages that did finish are worth a report; an interrupted user wants the prompt back.
            if self.config.run.report and isinstance(error, Exception):
                self._write_report()
            raise
        finally:
            set_job_description(self.spark, None)
        ordered = sorted(
            (r for r in self.stats_rows.values() if r["stage_index"] < stage_index), key=lambda r: r["stage_index"]
        )
        if self.config.run.report and last is None:
            self._write_report()
        stopped_after = last.name if last is not None else None
        return RunResult(run_id, self.layout.root, totals, ordered, sorted(reused), stopped_after)

    def _stop_early(self, last: Segment, manifest: dict[str, Any], finished_before: bool, recomputed: bool) -> None:
        """End a run after `last`. A run that had already finished and recomputed nothing now stays `succeeded`
        (its final tables still match its checkpoints); otherwise it is `partial` until a run without `until`
        writes the final tables."""
        manifest["status"] = "succeeded" if finished_before and not recomputed else "partial"
        manifest["stopped_after"] = last.name
        write_manifest(self.layout.manifest, manifest)
        log.info("%s: stopping here as requested; a run without --until writes the final tables", last.name)

    def _write_report(self) -> None:
        """report.html is derived from the committed tables: failing to write it does not fail the run, which
        `thresher report OUTPUT_DIR` can report on later."""
        from thresher.report.run_report import write_run_report

        clock = time.perf_counter()
        try:
            path = write_run_report(self.spark, self.layout.root)
        except Exception:
            log.exception("report.html not written; run `thresher report %s` to retry", self.layout.root)
            return
        finally:
            set_job_description(self.spark, None)
        log.info("report: %s (%.1f s)", path, time.perf_counter() - clock)

    def _passed_on(self, checkpoint: DataFrame, segment: Segment | None) -> DataFrame:
        """The rows of a checkpoint that go on to the next segment."""
        if self.mode == "annotate" or segment is None:
            return checkpoint
        return checkpoint.where(F.col(segment.last.id).getField(KEEP) == F.lit(True))

    # -- manifest and resume ---------------------------------------------------------------------------------

    def _check_run_id(self, existing: dict[str, Any] | None) -> None:
        requested = self.config.run.run_id
        if existing is not None and requested and requested != existing["run_id"]:
            raise ResumeError(
                f"{self.layout.root} holds run {existing['run_id']!r}, not {requested!r}; "
                "use another --output directory (or remove this one) for a new run"
            )

    def _open_manifest(
        self, existing: dict[str, Any] | None, plan: Plan, planned: list[PlannedInput]
    ) -> dict[str, Any]:
        if existing is not None:
            log.info("resuming run %s in %s", existing["run_id"], self.layout.root)
            existing["status"] = "running"
            existing.pop("error", None)
            existing["config"] = self.config.resolved
            write_manifest(self.layout.manifest, existing)
            return existing
        run_id = (
            self.config.run.run_id or f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{plan.ingest_fingerprint[:6]}"
        )
        files = [f for item in planned for f in item.files]
        inputs = [
            {
                "source": item.source,
                "format": item.format,
                "files": len(item.files),
                "bytes": sum(f.size for f in item.files),
                "first_files": [f.path for f in item.files[:5]],
            }
            for item in planned
        ]
        manifest = new_manifest(
            run_id,
            self.config.resolved,
            self.config.source_path,
            plan.ingest_fingerprint,
            inputs,
            self.store.format,
            self.spark.sparkContext.master,
        )
        manifest["input_file_count"] = len(files)
        write_manifest(self.layout.manifest, manifest)
        return manifest

    def _reusable_segments(self, plan: Plan) -> set[str]:
        expected = [(INGEST_SEGMENT, plan.ingest_fingerprint, {})] + [
            (s.name, s.fingerprint, s.describe()["stages"]) for s in plan.segments
        ]
        expected_names = {name for name, _, _ in expected}
        for name in self.layout.existing_checkpoints():
            if name in expected_names:
                continue
            if self._committed(name):
                raise ResumeError(
                    f"{self.layout.checkpoint(name)} was committed by a pipeline with other stages than this one "
                    f"({', '.join(plan.stage_ids()) or 'no stages'}); use a new --output directory, or delete "
                    "that checkpoint and every later one to recompute from there"
                )
            fs.delete(self.layout.checkpoint(name))
        reusable: set[str] = set()
        stale = False
        for name, expected_fingerprint, params in expected:
            if stale or not self._committed(name):
                stale = True
                fs.delete(self.layout.checkpoint(name))
                continue
            info = json.loads(fs.read_text(self.layout.segment_info(name)))
            if info["fingerprint"] != expected_fingerprint:
                raise ResumeError(self._describe_change(name, info, params))
            reusable.add(name)
        return reusable

    def _describe_change(self, name: str, info: dict[str, Any], params: dict[str, Any]) -> str:
        if name == INGEST_SEGMENT:
            what = "the input (files added, removed or modified, or input settings changed)"
        else:
            changes = [
                f"stages.{stage}.{key}: {old.get(key)!r} -> {new.get(key)!r}"
                for stage, new in params.items()
                for old in [info.get("stages", {}).get(stage, {})]
                for key in sorted(set(old) | set(new))
                if old.get(key) != new.get(key)
            ]
            what = "; ".join(changes) or "the settings of an earlier stage or the mode"
        return (
            f"checkpoint {name} in {self.layout.root} was committed with other settings: {what}. "
            f"To recompute from there, delete {self.layout.checkpoint(name)} and every later checkpoint; "
            "for a separate run use a new --output directory"
        )

    def _committed(self, name: str) -> bool:
        return fs.exists(self.layout.segment_info(name)) and self.store.exists(self.layout.checkpoint(name))

    def _existing_stats(self, run_id: str) -> dict[str, dict[str, Any]]:
        if not self.store.exists(self.layout.stats):
            return {}
        rows = self.store.read(self.layout.stats).where(F.col("run_id") == run_id).collect()
        return {r["stage"]: r.asDict(recursive=True) for r in rows}

    def _append_stats(self, rows: list[dict[str, Any]]) -> None:
        frame = self.spark.createDataFrame(rows, STATS_SCHEMA).coalesce(1)
        self.store.write(frame, self.layout.stats, mode="append")
        for row in rows:
            self.stats_rows[row["stage"]] = row

    # -- ingest and segments ---------------------------------------------------------------------------------

    def _commit(self, name: str, frame: DataFrame, info: dict[str, Any]) -> DataFrame:
        """Write a checkpoint: its _segment.json first, then the data, committed by one Delta commit."""
        path = self.layout.checkpoint(name)
        fs.write_text_atomic(self.layout.segment_info(name), json.dumps(info, indent=2) + "\n")
        self.store.write(frame, path, mode="error")
        fs.delete(self.layout.scratch(name))
        return self.store.read(path)

    def _run_ingest(
        self, plan: Plan, planned: list[PlannedInput], manifest: dict[str, Any], reused: set[str]
    ) -> DataFrame:
        name = INGEST_SEGMENT
        path = self.layout.checkpoint(name)
        if name in reused:
            log.info("%s: reusing committed checkpoint", name)
            checkpoint = self.store.read(path)
        else:
            log.info("%s: reading %d input file(s)", name, sum(len(p.files) for p in planned))
            set_job_description(self.spark, f"thresher ingest ({manifest['run_id']})")
            started, clock = now(), time.perf_counter()
            info = {"fingerprint": plan.ingest_fingerprint, "stages": {}}
            fs.delete(path)
            with ingest(self.spark, planned, self.store) as records:
                checkpoint = self._commit(name, records, info)
            timing = StageTiming(started, now(), time.perf_counter() - clock)
            manifest["segments"][name] = {"fingerprint": plan.ingest_fingerprint, "wall_seconds": timing.wall_seconds}
            self.stats_rows.pop("ingest", None)
        if "ingest" not in self.stats_rows:
            timing = self._timing_from_manifest(manifest, name)
            clock = time.perf_counter()
            self._append_stats([ingest_stats(checkpoint, manifest["run_id"], self.mode, timing)])
            manifest["segments"].setdefault(name, {})["stats_seconds"] = time.perf_counter() - clock
        row = self.stats_rows["ingest"]
        log.info(
            "%s: %d records -> %d documents, %d quarantined (%.1f s, %.0f records/s)",
            name,
            row["docs_in"],
            row["docs_out"],
            row["docs_excluded"],
            row["wall_seconds"],
            row["docs_per_second"] or 0.0,
        )
        write_manifest(self.layout.manifest, manifest)
        return checkpoint

    def _run_segment(
        self,
        segment: Segment,
        segment_input: DataFrame,
        first_index: int,
        expected_in: int,
        manifest: dict[str, Any],
        reused: set[str],
        earlier_stages: list[Stage],
    ) -> DataFrame:
        name = segment.name
        run_id = manifest["run_id"]
        if name in reused:
            log.info("%s: reusing committed checkpoint", name)
            checkpoint = self.store.read(self.layout.checkpoint(name))
            timings = {s.id: self._timing_from_manifest(manifest, name) for s in segment.stages}
        else:
            log.info("%s: started with %d documents (%s)", name, expected_in, _describe_pass(segment))
            set_job_description(self.spark, f"thresher {name} ({run_id})")
            started, clock = now(), time.perf_counter()
            fs.delete(self.layout.checkpoint(name))
            fs.delete(self.layout.scratch(name))
            context = StageContext(self.spark, run_id, self.mode, self.config.run.seed, self.layout.scratch(name))
            output, seconds = self._execute(segment, segment_input, context)
            checkpoint = self._commit(name, output, {**segment.describe()})
            wall = time.perf_counter() - clock
            timings = _stage_timings(segment, started, now(), wall, seconds.value if seconds else None, context)
            manifest["segments"][name] = {
                "fingerprint": segment.fingerprint,
                "wall_seconds": wall,
                "started_at": started.isoformat(),
                "stage_seconds": {k: t.wall_seconds for k, t in timings.items()},
            }
            for stage in segment.stages:
                self.stats_rows.pop(stage.id, None)
        missing = [s for s in segment.stages if s.id not in self.stats_rows]
        if missing:
            set_job_description(self.spark, f"thresher stats {name} ({run_id})")
            clock = time.perf_counter()
            rows = segment_stats(
                checkpoint, segment, first_index, run_id, self.mode, expected_in, timings, earlier_stages
            )
            self._append_stats([r for r in rows if r["stage"] in {s.id for s in missing}])
            manifest["segments"].setdefault(name, {})["stats_seconds"] = time.perf_counter() - clock
        for stage in segment.stages:
            row = self.stats_rows[stage.id]
            log.info(
                "%s: %d in -> %d out, %d %s (%.1f s, %.0f docs/s)",
                stage.id,
                row["docs_in"],
                row["docs_out"],
                row["docs_flagged"],
                "excluded" if self.mode == "filter" else "flagged",
                row["wall_seconds"],
                row["docs_per_second"] or 0.0,
            )
        write_manifest(self.layout.manifest, manifest)
        return checkpoint

    def _execute(self, segment: Segment, frame: DataFrame, context: StageContext) -> tuple[DataFrame, Any]:
        if segment.is_row_pass:
            seconds = self.spark.sparkContext.accumulator({}, _SecondsByStage())
            fused = FusedPass(list(segment.stages), self.mode, timer=seconds)  # type: ignore[arg-type]
            return frame.mapInArrow(fused, fused.output_schema(frame.schema)), seconds
        stage = segment.stages[0]
        assert isinstance(stage, GlobalStage)
        output = stage.apply(frame, context)
        _check_global_output(stage, frame, output)
        return output, None

    def _timing_from_manifest(self, manifest: dict[str, Any], name: str) -> StageTiming:
        info = manifest.get("segments", {}).get(name, {})
        moment = now()
        return StageTiming(moment, moment, float(info.get("wall_seconds", 0.0)))

    # -- final tables ----------------------------------------------------------------------------------------

    def _finalize(
        self, plan: Plan, ingested: DataFrame, last: DataFrame | None, manifest: dict[str, Any]
    ) -> dict[str, int]:
        set_job_description(self.spark, f"thresher final tables ({manifest['run_id']})")
        last_segment = plan.segments[-1] if plan.segments else None
        kept = documents(ingested) if last is None else self._passed_on(last, last_segment)
        stage_columns = [c for c in kept.columns if c not in CANONICAL_COLUMNS]
        kept = kept.select(*CANONICAL_COLUMNS, *stage_columns)
        self.store.write(kept, self.layout.kept, mode="overwrite", overwrite_schema=True)
        excluded = self._excluded(plan, kept)
        self.store.write(excluded, self.layout.excluded, mode="overwrite", overwrite_schema=True)
        self.store.write(quarantined(ingested), self.layout.quarantine, mode="overwrite", overwrite_schema=True)
        totals = {
            "input_records": int(self.stats_rows["ingest"]["docs_in"]),
            "kept": self.store.read(self.layout.kept).count(),
            "excluded": self.store.read(self.layout.excluded).count(),
            "quarantine": self.store.read(self.layout.quarantine).count(),
        }
        if totals["kept"] + totals["excluded"] + totals["quarantine"] != totals["input_records"]:
            raise InvariantError(
                f"{totals['input_records']} input records but kept {totals['kept']} + excluded "
                f"{totals['excluded']} + quarantine {totals['quarantine']}"
            )
        manifest["totals"] = totals
        manifest["status"] = "succeeded"
        manifest.pop("stopped_after", None)
        manifest["tables"] = {
            "kept": self.layout.kept,
            "excluded": self.layout.excluded,
            "quarantine": self.layout.quarantine,
            "stats": self.layout.stats,
        }
        write_manifest(self.layout.manifest, manifest)
        log.info(
            "done: %d input records -> %d kept, %d excluded, %d quarantined; output in %s",
            totals["input_records"],
            totals["kept"],
            totals["excluded"],
            totals["quarantine"],
            self.layout.root,
        )
        return totals

    def _excluded(self, plan: Plan, kept: DataFrame) -> DataFrame:
        extra = [StructField(STAGE, StringType(), True), StructField(REASON, StringType(), True)]
        empty = self.spark.createDataFrame([], StructType([*kept.schema.fields, *extra]))
        if self.mode == "annotate":
            return empty
        frames = [empty]
        for segment in plan.segments:
            checkpoint = self.store.read(self.layout.checkpoint(segment.name))
            for stage in segment.stages:
                result = F.col(stage.id)
                frames.append(
                    checkpoint.where(result.getField(KEEP) == F.lit(False)).select(
                        "*", F.lit(stage.id).alias(STAGE), result.getField(REASON).alias(REASON)
                    )
                )
        union = frames[0]
        for frame in frames[1:]:
            union = union.unionByName(frame, allowMissingColumns=True)
        stage_columns = [c for c in union.columns if c not in (*CANONICAL_COLUMNS, STAGE, REASON)]
        return union.select(*CANONICAL_COLUMNS, *stage_columns, STAGE, REASON)


def _describe_pass(segment: Segment) -> str:
    if not segment.is_row_pass:
        return f"global stage {segment.last.id}"
    if len(segment.stages) == 1:
        return f"row stage {segment.last.id}"
    return f"row stages {', '.join(s.id for s in segment.stages)} fused in one pass"


def _check_global_output(stage: GlobalStage, frame: DataFrame, output: DataFrame) -> None:
    missing = [c for c in frame.columns if c not in output.columns]
    if missing:
        raise ThresherError(f"stage {stage.id} dropped column(s) {missing}")
    if stage.id not in output.columns:
        raise ThresherError(f"stage {stage.id} did not add its result column {stage.id!r}")
    kind = output.schema[stage.id].dataType
    if not isinstance(kind, StructType) or KEEP not in kind.fieldNames() or REASON not in kind.fieldNames():
        raise ThresherError(f"stage {stage.id}: column {stage.id!r} must be a struct with keep and reason")


def _stage_timings(
    segment: Segment,
    started: datetime,
    finished: datetime,
    wall: float,
    seconds: dict[str, float] | None,
    context: StageContext,
) -> dict[str, StageTiming]:
    """Wall time per stage. A fused pass's wall time is split in proportion to the compute time its Python
    workers measured for each stage (recorded as the `cpu_seconds` metric)."""
    if len(segment.stages) == 1:
        stage_id = segment.stages[0].id
        metrics = dict(context.metrics)
        if seconds:
            metrics["cpu_seconds"] = seconds.get(stage_id, 0.0)
        return {stage_id: StageTiming(started, finished, wall, metrics, dict(context.details))}
    seconds = seconds or {}
    total = sum(seconds.values())
    timings = {}
    for stage in segment.stages:
        share = seconds.get(stage.id, 0.0) / total if total else 1 / len(segment.stages)
        timings[stage.id] = StageTiming(started, finished, wall * share, {"cpu_seconds": seconds.get(stage.id, 0.0)})
    return timings
