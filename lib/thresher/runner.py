"""Runs a pipeline: a loop over segments (ingest is segment 0), each reused or computed, committed as a
checkpoint and recorded (manifest + one stats row per stage), then the final tables.

Resume: a checkpoint is reused when its Delta commit exists and its recorded fingerprint equals the plan's
(same input files, same parameters of it and of every stage before it). A committed checkpoint with another
fingerprint stops the run with a message naming what changed; uncommitted leftovers of a killed run are
removed and recomputed.

Stopping early (`until`): the plan is always made from the whole config, so fusion and fingerprints are those
of the full pipeline; the run stops after the segment that contains the given stage and writes no final tables.
A later run of the same pipeline (with a later `until`, or none) reuses what it committed. Committed checkpoints
after the stopping point are left alone: they belong to the same plan. This lets a scheduler run a pipeline as
a chain of tasks, each a prefix of the next, where a retried task never redoes a committed segment.

Conservation: after every segment the stats must show that each stage decided on exactly the documents handed
to it. They are measured by the job that writes the checkpoint (thresher.stats_tap: no second pass over it); a
reused checkpoint without stats rows, or partials that do not account for every row, are re-read instead. At the
end `input records == kept + excluded + quarantine` is checked by counting the written tables (the row counts of
their files).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyspark.accumulators import AccumulatorParam
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from thresher.annotate_text import apply_global
from thresher.checkpoints import Checkpoints, Step, steps_of
from thresher.conf import PipelineConfig
from thresher.core.records import Manifest, SegmentRecord, StageReport, StageStats
from thresher.errors import ConfigError, InvariantError, ResumeError, ThresherError
from thresher.input_listing import check_input_change, write_listing
from thresher.interrupts import forget_interrupts, latch_interrupts, raise_if_interrupted
from thresher.io.delta import DeltaStore, resolve_format
from thresher.io.ingest import documents, ingest, quarantined
from thresher.io.inputs import PlannedInput, fingerprint, plan_inputs
from thresher.io.layout import OutputLayout
from thresher.io.objectstore import require_spark_filesystems
from thresher.io.zstd_frames import zstd_files_without_checksum
from thresher.limits import check_quarantine, check_stage_errors
from thresher.manifest import new_manifest, now, read_manifest, write_manifest
from thresher.output_lock import OutputLock
from thresher.output_safety import check_output_location
from thresher.plan import Plan, Segment, make_plan
from thresher.quarantine_files import worst_quarantined_file
from thresher.schema import CANONICAL_COLUMNS, KEEP, ORIGIN, REASON, STAGE
from thresher.spark import get_spark, set_job_description
from thresher.stages.base import GlobalStage, Stage, StageContext
from thresher.stages.dedup_index import dedup_index_paths, update_dedup_indexes
from thresher.stages.fused import FusedPass
from thresher.stats import SegmentRun, StageTiming, ingest_stats, segment_stats, skipped_total
from thresher.stats_fused import (
    ingest_spec,
    ingest_stats_from_partials,
    segment_spec,
    segment_stats_from_partials,
    tap,
)
from thresher.stats_table import StatsTable
from thresher.stats_tap import SegmentSpec, measuring_seconds
from thresher.token_columns import with_tokens

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
    # One per stage that ran or was reused, ingest first; `row["docs_in"]` reads a column as the table has it.
    stats: list[StageStats]
    reused: list[str] = field(default_factory=list)
    # Set when the run stopped early (`until`): the last segment it ran or reused. No final tables then.
    stopped_after: str | None = None


@dataclass
class _Computed:
    """A step's output before its commit, with what its computation measured."""

    frame: DataFrame
    # Worker compute seconds per stage of a row pass (an accumulator's value once the commit has run).
    seconds: Any = None
    # What a global stage reported.
    report: StageReport | None = None
    # Statistics measured while the step's rows were written (thresher.stats_tap): {partition: partial}.
    partials: Any = None
    spec: Any = None


def run_pipeline(config: PipelineConfig, spark: SparkSession | None = None, until: str | None = None) -> RunResult:
    """Run `config`; with `until` (a stage id), stop after the segment that contains that stage."""
    if not config.run.output:
        raise ConfigError("run.output: required (set it in the config or pass --output)")
    # Refused before Spark starts: an unsafe output, or one another run is writing to.
    check_output_location(
        config.run.output,
        [p for item in config.inputs for p in item.path],
        config.run.allow_other_files,
        index_paths=dedup_index_paths([spec.stage for spec in config.stages]),
    )
    with OutputLock(config.run.output):
        return Runner(config, spark).run(until)


class Runner:
    def __init__(self, config: PipelineConfig, spark: SparkSession | None = None) -> None:
        if not config.run.output:
            raise ConfigError("run.output: required (set it in the config or pass --output)")
        self.config = config
        self.mode = config.run.mode
        self.layout = OutputLayout(config.run.output)
        owns_session = spark is None and SparkSession.getActiveSession() is None
        self.spark = spark or get_spark(config.spark)
        latch_interrupts(lambda: self._cancel_jobs(silence_log=owns_session))
        require_spark_filesystems(self.spark, [config.run.output, *(p for i in config.inputs for p in i.path)])
        self.spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(config.run.batch_size))
        self.store = DeltaStore(self.spark, resolve_format(self.spark, config.run.table_format))
        self.checkpoints = Checkpoints(self.layout, self.store)

    def _cancel_jobs(self, silence_log: bool) -> None:
        """On Ctrl-C (from a thread of its own: see thresher.interrupts): cancel the running Spark jobs, in a
        session of thresher's own silencing the JVM's log first (cancelled jobs fail with stack traces by design,
        which would bury the one-line resume hint)."""
        context = self.spark.sparkContext
        if silence_log:
            context.setLogLevel("OFF")
        context.cancelAllJobs()

    # -- the run ---------------------------------------------------------------------------------------------

    def run(self, until: str | None = None) -> RunResult:
        forget_interrupts()
        planned = plan_inputs(self.spark, self.config.inputs)
        plan = make_plan(self.config, fingerprint(planned))
        last = plan.segment_of(until) if until is not None else None
        # A refused resume must leave the existing run's manifest and tables untouched.
        existing = read_manifest(self.layout.manifest)
        finished_before = existing is not None and existing.status == "succeeded"
        self._check_run_id(existing)
        check_input_change(self.layout, planned, plan.ingest_fingerprint)
        reused = self.checkpoints.reusable(plan)
        manifest = self._open_manifest(existing, plan, planned)
        steps = steps_of(plan)
        ran: list[str] = []
        try:
            self.stats = StatsTable(self.spark, self.store, self.layout.stats, manifest.run_id)
            ingested = self._ingest(steps[0], planned, manifest, reused)
            write_listing(self.layout, planned, plan.ingest_fingerprint)
            ran.append(steps[0].name)
            check_quarantine(
                self.stats["ingest"], self.config.run.max_quarantine_fraction, lambda: worst_quarantined_file(ingested)
            )
            passed = self.stats["ingest"].docs_out
            segment_input = documents(ingested)
            stage_index = 1
            for step, segment in zip(steps[1:], plan.segments, strict=True):
                raise_if_interrupted()
                checkpoint = self._segment(
                    step, segment, segment_input, stage_index, passed, manifest, reused, plan.stages_before(segment)
                )
                ran.append(step.name)
                for stage in segment.stages:
                    check_stage_errors(self.stats[stage.id], self.config.run.max_error_fraction)
                stage_index += len(segment.stages)
                passed = self.stats[segment.last.id].docs_out
                segment_input = self._passed_on(checkpoint, segment)
                if segment == last:
                    break
            raise_if_interrupted()
            if last is None:
                totals = self._finalize(plan, ingested, segment_input, manifest)
            else:
                self._stop_early(last, manifest, finished_before, recomputed=not reused.issuperset(ran))
                totals = {}
        except BaseException as error:
            manifest.status = "failed"
            manifest.error = f"{type(error).__name__}: {error}"
            write_manifest(self.layout.manifest, manifest)
            # The stages that did finish are worth a report; an interrupted user wants the prompt back.
            if self.config.run.report and isinstance(error, Exception):
                self._write_report()
            raise
        finally:
            set_job_description(self.spark, None)
        if self.config.run.report and last is None:
            self._write_report()
        stopped_after = last.name if last is not None else None
        return RunResult(
            manifest.run_id, self.layout.root, totals, self.stats.ordered(stage_index), sorted(reused), stopped_after
        )

    def _stop_early(self, last: Segment, manifest: Manifest, finished_before: bool, recomputed: bool) -> None:
        """End a run after `last`. A run that had already finished and recomputed nothing now stays `succeeded`
        (its final tables still match its checkpoints); otherwise it is `partial` until a run without `until`
        writes the final tables."""
        manifest.status = "succeeded" if finished_before and not recomputed else "partial"
        manifest.stopped_after = last.name
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

    def _passed_on(self, checkpoint: DataFrame, segment: Segment) -> DataFrame:
        """The rows of a checkpoint that go on to the next segment."""
        if self.mode == "annotate":
            return checkpoint
        return checkpoint.where(F.col(segment.last.id).getField(KEEP) == F.lit(True))

    # -- manifest --------------------------------------------------------------------------------------------

    def _check_run_id(self, existing: Manifest | None) -> None:
        requested = self.config.run.run_id
        if existing is not None and requested and requested != existing.run_id:
            raise ResumeError(
                f"{self.layout.root} holds run {existing.run_id!r}, not {requested!r}; "
                "use another --output directory (or remove this one) for a new run"
            )

    def _open_manifest(self, existing: Manifest | None, plan: Plan, planned: list[PlannedInput]) -> Manifest:
        if existing is not None:
            log.info("resuming run %s in %s", existing.run_id, self.layout.root)
            existing.status = "running"
            existing.error = None
            existing.config = self.config.resolved
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
                "skipped_entries": list(item.skipped),
                **_unchecked_zstd(item),
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
        manifest.input_file_count = len(files)
        write_manifest(self.layout.manifest, manifest)
        return manifest

    # -- the loop: each step is reused or computed, committed, recorded, then its stats are made sure of --------

    def _checkpoint(
        self,
        step: Step,
        stage_ids: list[str],
        compute: Callable[[], AbstractContextManager[_Computed]],
        manifest: Manifest,
        reused: set[str],
        describe: str,
    ) -> tuple[DataFrame, _Computed | None]:
        """Reuse the committed checkpoint of `step`, or compute, commit and record it (its stats rows, now
        describing another computation, are dropped to be made again)."""
        if step.name in reused:
            log.info("%s: reusing committed checkpoint", step.name)
            if step.name not in manifest.segments:
                # Committed by a run killed before it could record it: what the checkpoint itself proves.
                manifest.segments[step.name] = self.checkpoints.recorded(step.name)
            return self.checkpoints.read(step.name), None
        log.info("%s: %s", step.name, describe)
        set_job_description(self.spark, f"thresher {step.name} ({manifest.run_id})")
        started, clock = now(), time.perf_counter()
        self.checkpoints.begin(step, started)
        with compute() as computed:
            checkpoint = self.checkpoints.commit(step.name, computed.frame)
        wall = time.perf_counter() - clock
        seconds = computed.seconds.value if computed.seconds is not None else None
        report = computed.report or StageReport()
        manifest.segments[step.name] = SegmentRecord(
            fingerprint=step.fingerprint,
            wall_seconds=wall,
            started_at=started.isoformat(),
            finished_at=now().isoformat(),
            stage_seconds=_stage_seconds(stage_ids, wall, seconds),
            stage_cpu_seconds=_cpu_seconds(stage_ids, seconds),
            metrics=dict(report.metrics),
            details=dict(report.details),
        )
        # Recorded at once: a kill from here on loses no timing.
        write_manifest(self.layout.manifest, manifest)
        self.stats.discard(stage_ids)
        return checkpoint, computed

    def _ingest(self, step: Step, planned: list[PlannedInput], manifest: Manifest, reused: set[str]) -> DataFrame:
        @contextmanager
        def compute() -> Iterator[_Computed]:
            with ingest(self.spark, planned, self.store) as records:
                spec = ingest_spec(self.config.run.tokenizer)
                measured, partials = tap(records, spec)
                yield _Computed(measured, partials=partials, spec=spec)

        describe = f"reading {sum(len(p.files) for p in planned)} input file(s)"
        checkpoint, computed = self._checkpoint(step, ["ingest"], compute, manifest, reused, describe)
        self._passed_digest = None
        if "ingest" not in self.stats:
            clock = time.perf_counter()
            timing = _timing(manifest.segments[step.name], "ingest", single=True)
            tokenizer = self.config.run.tokenizer
            if computed is not None and computed.partials is not None:
                row, self._passed_digest = ingest_stats_from_partials(
                    computed.partials.value, manifest.run_id, self.mode, timing, tokenizer
                )
            else:
                row = ingest_stats(checkpoint, manifest.run_id, self.mode, timing, tokenizer)
            self.stats.write([row])
            manifest.segments[step.name].stats_seconds = time.perf_counter() - clock + _measuring(computed)
        row = self.stats["ingest"]
        skipped = skipped_total(row)
        log.info(
            "%s: %d records -> %d documents, %d quarantined, %d skipped (%s)",
            step.name,
            row.docs_in,
            row.docs_out,
            row.docs_excluded - skipped,
            skipped,
            _speed(row, "records"),
        )
        write_manifest(self.layout.manifest, manifest)
        return checkpoint

    def _segment(
        self,
        step: Step,
        segment: Segment,
        segment_input: DataFrame,
        first_index: int,
        expected_in: int,
        manifest: Manifest,
        reused: set[str],
        earlier_stages: list[Stage],
    ) -> DataFrame:
        run_id = manifest.run_id
        stage_ids = [s.id for s in segment.stages]

        @contextmanager
        def compute() -> Iterator[_Computed]:
            context = StageContext(
                self.spark,
                run_id,
                self.mode,
                self.config.run.seed,
                self.layout.scratch(step.name),
                tokenizer=self.config.run.tokenizer,
            )
            spec = segment_spec(segment, self.mode, earlier_stages, self.config.run.tokenizer)
            yield self._execute(segment, segment_input, context, spec, earlier_stages)

        describe = f"started with {expected_in} documents ({_describe_pass(segment)})"
        checkpoint, computed = self._checkpoint(step, stage_ids, compute, manifest, reused, describe)
        input_digest, self._passed_digest = self._passed_digest, None
        missing = [s for s in segment.stages if s.id not in self.stats]
        if missing:
            set_job_description(self.spark, f"thresher stats {step.name} ({run_id})")
            clock = time.perf_counter()
            record = manifest.segments[step.name]
            single = len(segment.stages) == 1
            timings = {s.id: _timing(record, s.id, single) for s in segment.stages}
            described = SegmentRun(segment, first_index, run_id, self.mode, expected_in, timings, earlier_stages)
            measured = None
            if computed is not None and computed.partials is not None:
                measured = segment_stats_from_partials(computed.partials.value, computed.spec, described, input_digest)
            if measured is not None:
                rows, self._passed_digest = measured
            else:
                rows = segment_stats(checkpoint, described, tokenizer=self.config.run.tokenizer)
            self.stats.write([r for r in rows if r.stage in {s.id for s in missing}])
            record.stats_seconds = time.perf_counter() - clock + _measuring(computed)
        for stage in segment.stages:
            row = self.stats[stage.id]
            log.info(
                "%s: %d in -> %d out, %d %s (%s)",
                stage.id,
                row.docs_in,
                row.docs_out,
                row.docs_flagged,
                "excluded" if self.mode == "filter" else "flagged",
                _speed(row, "docs"),
            )
        write_manifest(self.layout.manifest, manifest)
        return checkpoint

    def _execute(
        self,
        segment: Segment,
        frame: DataFrame,
        context: StageContext,
        spec: SegmentSpec,
        earlier_stages: list[Stage],
    ) -> _Computed:
        if segment.is_row_pass:
            seconds = self.spark.sparkContext.accumulator({}, _SecondsByStage())
            fused = FusedPass(
                list(segment.stages),  # type: ignore[arg-type]
                self.mode,
                timer=seconds,
                tokenizer=self.config.run.tokenizer,
            )
            measured, partials = tap(frame, spec, inner=fused, schema=fused.output_schema(frame.schema))
            return _Computed(measured, seconds=seconds, partials=partials, spec=spec)
        stage = segment.stages[0]
        assert isinstance(stage, GlobalStage)
        result = apply_global(stage, frame, context, self.mode, [s.id for s in earlier_stages])
        if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], StageReport)):
            raise ThresherError(
                f"stage {stage.id}: GlobalStage.apply must return (frame, StageReport), got {type(result).__name__}"
            )
        output, report = result
        _check_global_output(stage, frame, output)
        measured, partials = tap(output, spec)
        return _Computed(measured, report=report, partials=partials, spec=spec)

    # -- final tables ----------------------------------------------------------------------------------------

    def _finalize(self, plan: Plan, ingested: DataFrame, kept: DataFrame, manifest: Manifest) -> dict[str, int]:
        """Write kept/ (`kept`: what the last segment passed on), excluded/ and quarantine/ and check that every
        input record is in exactly one of them."""
        set_job_description(self.spark, f"thresher final tables ({manifest.run_id})")
        stage_columns = [c for c in kept.columns if c not in CANONICAL_COLUMNS]
        kept = with_tokens(kept.select(*CANONICAL_COLUMNS, *stage_columns), self.config.run.tokenizer, after=ORIGIN)
        self._write_final(kept, self.layout.kept)
        self._write_final(self._excluded(plan, kept), self.layout.excluded)
        self._write_final(quarantined(ingested), self.layout.quarantine)
        totals = {
            "input_records": self.stats["ingest"].docs_in,
            "kept": self.store.count(self.layout.kept),
            "excluded": self.store.count(self.layout.excluded),
            "quarantine": self.store.count(self.layout.quarantine),
        }
        # Records that are not documents by design (WARC requests, non-HTML responses, ...), when there are any.
        skipped = skipped_total(self.stats["ingest"])
        if skipped:
            totals["skipped"] = skipped
        if totals["kept"] + totals["excluded"] + totals["quarantine"] + skipped != totals["input_records"]:
            raise InvariantError(
                f"{totals['input_records']} input records but kept {totals['kept']} + excluded "
                f"{totals['excluded']} + quarantine {totals['quarantine']} + skipped {skipped}"
            )
        manifest.totals = totals
        # After the final tables: a run killed before this point adds nothing to a dedup index.
        stages = [s for segment in plan.segments for s in segment.stages]
        kept_table = self.store.read(self.layout.kept)
        indexes = update_dedup_indexes(self.spark, stages, manifest.run_id, kept_table, self.layout.root)
        manifest.dedup_indexes = indexes or None
        manifest.status = "succeeded"
        manifest.stopped_after = None
        manifest.tables = {
            "kept": self.layout.kept,
            "excluded": self.layout.excluded,
            "quarantine": self.layout.quarantine,
            "stats": self.layout.stats,
        }
        write_manifest(self.layout.manifest, manifest)
        log.info(
            "done: %d input records -> %d kept, %d excluded, %d quarantined, %d skipped; output in %s",
            totals["input_records"],
            totals["kept"],
            totals["excluded"],
            totals["quarantine"],
            skipped,
            self.layout.root,
        )
        return totals

    def _write_final(self, frame: DataFrame, path: str) -> None:
        for leftover in self.store.remove_unfinished_writes(path):
            log.info("removed %s: left by a write that was killed", leftover)
        self.store.write(frame, path, mode="overwrite", overwrite_schema=True)

    def _excluded(self, plan: Plan, kept: DataFrame) -> DataFrame:
        extra = [StructField(STAGE, StringType(), True), StructField(REASON, StringType(), True)]
        empty = self.spark.createDataFrame([], StructType([*kept.schema.fields, *extra]))
        if self.mode == "annotate":
            return empty
        frames = [empty]
        for segment in plan.segments:
            checkpoint = self.checkpoints.read(segment.name)
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
        excluded = union.select(*CANONICAL_COLUMNS, *stage_columns, STAGE, REASON)
        # Tokens of the text as the excluding segment left it (the union carries kept/'s column, null here).
        return with_tokens(excluded, self.config.run.tokenizer, after=ORIGIN)


def _measuring(computed: _Computed | None) -> float:
    """Seconds the tasks of a pass spent measuring its statistics (summed over tasks)."""
    if computed is None or computed.partials is None:
        return 0.0
    return measuring_seconds(computed.partials.value)


def _describe_pass(segment: Segment) -> str:
    if not segment.is_row_pass:
        return f"global stage {segment.last.id}"
    if len(segment.stages) == 1:
        return f"row stage {segment.last.id}"
    return f"row stages {', '.join(s.id for s in segment.stages)} fused in one pass"


def _unchecked_zstd(item: PlannedInput) -> dict[str, list[str]]:
    """The manifest's `zstd_without_checksum` of an input (absent when none), with a warning in the log."""
    unchecked = zstd_files_without_checksum([f.path for f in item.files])
    if not unchecked:
        return {}
    log.warning(
        "input %s: %d .zst file(s) without content checksum (e.g. %s): corruption in them decodes to garbled "
        "lines, quarantined as such, not to an error",
        item.source,
        len(unchecked),
        unchecked[0],
    )
    return {"zstd_without_checksum": unchecked}


def _check_global_output(stage: GlobalStage, frame: DataFrame, output: DataFrame) -> None:
    missing = [c for c in frame.columns if c not in output.columns]
    if missing:
        raise ThresherError(f"stage {stage.id} dropped column(s) {missing}")
    if stage.id not in output.columns:
        raise ThresherError(f"stage {stage.id} did not add its result column {stage.id!r}")
    kind = output.schema[stage.id].dataType
    if not isinstance(kind, StructType) or KEEP not in kind.fieldNames() or REASON not in kind.fieldNames():
        raise ThresherError(f"stage {stage.id}: column {stage.id!r} must be a struct with keep and reason")


def _stage_seconds(stage_ids: list[str], wall: float, seconds: dict[str, float] | None) -> dict[str, float]:
    """Wall time per stage: a fused pass's wall time split in proportion to the compute time its Python workers
    measured for each stage (evenly when they measured none)."""
    if len(stage_ids) == 1:
        return {stage_ids[0]: wall}
    seconds = seconds or {}
    total = sum(seconds.values())
    return {s: wall * (seconds.get(s, 0.0) / total if total else 1 / len(stage_ids)) for s in stage_ids}


def _cpu_seconds(stage_ids: list[str], seconds: dict[str, float] | None) -> dict[str, float]:
    """Worker compute seconds per stage of a row pass (none for a global stage or an unmeasured single stage)."""
    if seconds is None or (len(stage_ids) == 1 and not seconds):
        return {}
    return {s: seconds.get(s, 0.0) for s in stage_ids}


def _timing(record: SegmentRecord, stage_id: str, single: bool) -> StageTiming:
    """What the stats row of `stage_id` says about time, from its segment's record: the stage's share of the
    wall time (absent when not recorded), the worker compute seconds (`cpu_seconds`) and a global stage's
    report."""
    wall = record.wall_seconds if single else record.stage_seconds.get(stage_id)
    metrics = dict(record.metrics)
    if stage_id in record.stage_cpu_seconds:
        metrics["cpu_seconds"] = record.stage_cpu_seconds[stage_id]
    return StageTiming(_instant(record.started_at), _instant(record.finished_at), wall, metrics, dict(record.details))


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _speed(row: StageStats, unit: str) -> str:
    if row.wall_seconds is None or row.docs_per_second is None:
        return "time not recorded"
    return f"{row.wall_seconds:.1f} s, {row.docs_per_second:.0f} {unit}/s"
