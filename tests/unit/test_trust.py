"""Issue 12 (trust): every user-supplied name, key, path and value takes effect or is refused; no run is wrong
without a word. Each test reproduces a command or config from the issue."""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from thresher.conf import load_config
from thresher.core.records import StageStats
from thresher.errors import ConfigError
from thresher.limits import RunLimitError, check_quarantine, check_stage_errors
from thresher.output_lock import OutputLock, OutputLockedError, is_stale
from thresher.output_safety import check_output_location
from thresher.summary import format_reasons, segment_throughput


def _write(tmp_path: Path, text: str, name: str = "conf.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- 1: --input A --input B ----------------------------------------------------------------------------------


def test_each_input_option_is_its_own_input(tmp_path):
    config = load_config(
        _write(tmp_path, "input: {path: x.jsonl, source: web, max_text_chars: 500}\n"),
        input_path=[str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")],
    )
    assert [i.path for i in config.inputs] == [[str(tmp_path / "a.jsonl")], [str(tmp_path / "b.jsonl")]]
    # The config's other input settings carry over; its one source name would collapse the two inputs.
    assert all(i.max_text_chars == 500 and i.source is None for i in config.inputs)


def test_one_input_option_keeps_the_configured_source(tmp_path):
    config = load_config(_write(tmp_path, "input: {path: x.jsonl, source: web}\n"), input_path=str(tmp_path / "a"))
    assert [i.source for i in config.inputs] == ["web"]


# -- 2: source_by -------------------------------------------------------------------------------------------


def test_source_by_file_and_a_fixed_source_are_exclusive(tmp_path):
    with pytest.raises(ConfigError, match="source_by: file names each document by its file"):
        load_config(data={"input": {"path": ["a.jsonl", "b.jsonl"], "source": "x", "source_by": "file"}})


# -- 4: --set on a stage that is not in the config ----------------------------------------------------------


def test_set_on_a_stage_not_in_the_config_is_refused(tmp_path):
    path = _write(tmp_path, "input: {path: x}\nstages: {normalize: {}}\n")
    with pytest.raises(ConfigError, match=r"--set stages.length.min_words: stage 'length' is not in the config"):
        load_config(path, sets=["stages.length.min_words=10"])
    config = load_config(
        _write(tmp_path, "input: {path: x}\nstages: {length: {}}\n"), sets=["stages.length.min_words=10"]
    )
    assert config.stages[0].stage.params.min_words == 10


# -- 9: numbers inside maps and lists ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["{5: -1.0}", "{2: .nan}", "{5: .inf}", "{5: 1.5}"])
def test_gopher_n_gram_fractions_are_validated(tmp_path, value):
    path = _write(tmp_path, f"input: {{path: x}}\nstages:\n  gopher_repetition: {{dup_n_grams: {value}}}\n")
    with pytest.raises(ConfigError, match=r"stages.gopher_repetition.dup_n_grams.\d"):
        load_config(path)


def test_nan_is_refused_in_scalars_and_run_settings(tmp_path):
    with pytest.raises(ConfigError, match=r"stages\.budget\.other_weight"):
        load_config(data={"input": {"path": "x"}, "stages": {"budget": {"budget": 5, "other_weight": float("nan")}}})
    with pytest.raises(ConfigError, match=r"run\.max_quarantine_fraction"):
        load_config(data={"input": {"path": "x"}, "run": {"max_quarantine_fraction": float("inf")}})


def test_cluster_levels_must_be_positive():
    with pytest.raises(ConfigError, match=r"stages.cluster_balance.levels.1"):
        load_config(data={"input": {"path": "x"}, "stages": {"cluster_balance": {"levels": [10, -1]}}})


# -- 16: YAML alias bomb ---------------------------------------------------------------------------------------


def test_yaml_alias_bomb_is_refused_without_expanding(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    path = _write(tmp_path, "input: {path: x}\nunknown:\n  " + "\n  ".join(lines) + "\n")
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="YAML alias at line 4"):
        load_config(path)
    assert time.perf_counter() - started < 2


def test_unknown_top_level_keys_are_refused_before_copying():
    with pytest.raises(ConfigError, match=r"unknown top-level key.*stagse; allowed keys: run, input, spark, stages"):
        load_config(data={"input": {"path": "x"}, "stagse": {"length": {}}})


# -- 5: run limits --------------------------------------------------------------------------------------------


def _stats(stage: str, docs_in: int, excluded: int, reasons: dict[str, int]) -> StageStats:
    return StageStats(
        run_id="r", stage_index=0, stage=stage, segment=stage, mode="filter", docs_in=docs_in,
        docs_out=docs_in - excluded, docs_excluded=excluded, docs_flagged=excluded, chars_in=0, chars_out=0,
        words_in=0, words_out=0, reason_counts=reasons,
    )  # fmt: skip


def test_a_fully_quarantined_input_passes_the_limit():
    row = _stats("ingest", 11, 11, {"invalid_json": 11})
    with pytest.raises(RunLimitError, match=r"11 of 11 input records \(100.0%\) were quarantined \(invalid_json 11\)"):
        check_quarantine(row, 0.5)
    check_quarantine(_stats("ingest", 11, 2, {}), 0.5)


def test_stage_errors_past_the_limit_fail():
    row = _stats("length", 200, 3, {"stage_error:KeyError": 3})
    with pytest.raises(RunLimitError, match=r"stage length raised on 3 of 200 documents \(1.5%"):
        check_stage_errors(row, 0.01)
    check_stage_errors(row, 0.02)
    check_stage_errors(_stats("length", 200, 200, {"too_short": 200}), 0.0)


def test_limits_are_validated_fractions():
    with pytest.raises(ConfigError, match=r"run\.max_error_fraction: 2"):
        load_config(data={"input": {"path": "x"}, "run": {"max_error_fraction": 2}})


# -- 12: the output lock --------------------------------------------------------------------------------------


def test_a_second_run_on_a_locked_output_is_refused(tmp_path):
    with OutputLock(str(tmp_path)) as lock:
        holder = json.loads((tmp_path / "_thresher.lock").read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname() and holder["owner"]
        with pytest.raises(OutputLockedError, match=f"in use by another thresher run \\(pid {os.getpid()} on host"):
            OutputLock(str(tmp_path)).acquire()
        assert (tmp_path / "_thresher.lock").exists() and lock.token == holder["token"]
    assert not (tmp_path / "_thresher.lock").exists()


def test_a_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = {
        "pid": 2**22 + 12345,
        "host": socket.gethostname(),
        "token": "x",
        "heartbeat_at": datetime.now(UTC).isoformat(),
    }
    (tmp_path / "_thresher.lock").write_text(json.dumps(dead))
    with OutputLock(str(tmp_path)):
        assert json.loads((tmp_path / "_thresher.lock").read_text())["pid"] == os.getpid()


def test_stale_rule():
    fresh = datetime.now(UTC).isoformat()
    other_host = {"pid": 1, "host": "elsewhere", "heartbeat_at": fresh}
    assert not is_stale(other_host)
    assert is_stale(other_host, now=time.time() + 16 * 60)
    assert not is_stale({"pid": os.getpid(), "host": socket.gethostname(), "heartbeat_at": fresh})
    assert not is_stale({})


def test_the_heartbeat_refreshes_the_lock(tmp_path):
    with OutputLock(str(tmp_path), heartbeat_seconds=0.05):
        first = json.loads((tmp_path / "_thresher.lock").read_text())["heartbeat_at"]
        time.sleep(0.3)
        assert json.loads((tmp_path / "_thresher.lock").read_text())["heartbeat_at"] > first


# -- 13: unsafe outputs ---------------------------------------------------------------------------------------


def test_output_root_is_refused():
    with pytest.raises(ConfigError, match="is the root of a file system"):
        check_output_location("/", ["/data/x.jsonl"], allow_other_files=True)
    with pytest.raises(ConfigError, match="is the root of a file system"):
        check_output_location("s3://bucket/", ["/data/x.jsonl"], allow_other_files=True)


@pytest.mark.parametrize("pattern", ["{d}", "{d}/", "{d}/*", "{d}/**/*.parquet", "{d}/{{out,x}}"])
def test_output_inside_an_input_is_refused(tmp_path, pattern):
    with pytest.raises(ConfigError, match="inside \\(or equal to\\) the input"):
        check_output_location(str(tmp_path / "out"), [pattern.format(d=tmp_path)], allow_other_files=False)


@pytest.mark.parametrize("pattern", ["{d}/a.jsonl", "{d}/*.jsonl", "{d}/in/*", "{d}/out/part.jsonl"])
def test_output_beside_an_input_is_fine(tmp_path, pattern):
    check_output_location(str(tmp_path / "out"), [pattern.format(d=tmp_path)], allow_other_files=False)


def test_output_equal_to_an_input_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="inside \\(or equal to\\) the input"):
        check_output_location(str(tmp_path), [str(tmp_path)], allow_other_files=True)


def test_output_with_foreign_files_is_refused_unless_allowed(tmp_path):
    (tmp_path / "thesis.tex").write_text("years of work")
    (tmp_path / "kept").mkdir()
    (tmp_path / "_thresher.lock").write_text("{}")
    with pytest.raises(ConfigError, match=r"holds files thresher did not write \(thesis.tex\).*--allow-other-files"):
        check_output_location(str(tmp_path), ["/elsewhere/x.jsonl"], allow_other_files=False)
    check_output_location(str(tmp_path), ["/elsewhere/x.jsonl"], allow_other_files=True)


# -- 18: the console summary ----------------------------------------------------------------------------------


def test_summary_lists_every_reason_or_says_how_many_more():
    counts = {f"r{i}": 10 - i for i in range(8)}
    assert format_reasons(counts) == "r0 10, r1 9, r2 8, r3 7, r4 6, r5 5, +2 more (7 docs)"
    assert format_reasons({"a": 1, "b": 3}) == "b 3, a 1"


def test_throughput_is_per_segment():
    rows = [
        {"segment": "01_a+b", "stage": "a", "docs_in": 1000, "wall_seconds": 1.5},
        {"segment": "01_a+b", "stage": "b", "docs_in": 900, "wall_seconds": 0.5},
        {"segment": "02_c", "stage": "c", "docs_in": 800, "wall_seconds": 0.0},
    ]
    assert segment_throughput(rows) == {("01_a+b", "a"): 500.0}


# -- 10: JSONL records a user would call valid --------------------------------------------------------------


def _parse(line: bytes) -> dict:
    from thresher.conf import FieldMap
    from thresher.io.jsonl import ParseOptions, parse_record

    return parse_record(line, len(line), "f.jsonl", 1, 0, ParseOptions("s", FieldMap(), 1000))


def test_a_byte_order_mark_at_a_line_start_is_not_part_of_the_record():
    row = _parse('\ufeff{"id": "a", "text": "hello"}'.encode())
    assert row.get("q_reason") is None and row["text"] == "hello" and row["input_id"] == "a"


def test_an_integer_id_past_64_bits_keeps_every_digit():
    row = _parse(b'{"id": 123456789012345678901234567890, "text": "hello"}')
    assert row.get("q_reason") is None and row["input_id"] == "123456789012345678901234567890"
    assert _parse(b'{"id": 1.5, "text": "hello"}')["q_error"] == "'id' is a JSON float"


# -- 19: brace globs ------------------------------------------------------------------------------------------


def test_brace_globs_expand_locally():
    from thresher.io.inputs import expand_braces

    assert expand_braces("d/{a,b}.jsonl") == ["d/a.jsonl", "d/b.jsonl"]
    assert expand_braces("{x,y}/{1,2}") == ["x/1", "x/2", "y/1", "y/2"]


def test_select_conf_reads_only_columns_web_en_writes():
    import re

    web = load_config(Path(__file__).parents[2] / "conf" / "web_en.yaml")
    written = {(s.id, f.name) for s in web.stages for f in s.stage.result_type().fields}
    select = Path(__file__).parents[2] / "conf" / "select.yaml"
    text = "\n".join(line.split("#", 1)[0] for line in select.read_text().splitlines())
    referenced = set(re.findall(r"\b([a-z_]+)\.([a-z_]+)\b", text)) - {("select", "yaml")}
    assert referenced and referenced <= written, referenced - written


def test_only_the_stages_that_run_are_validated(tmp_path):
    conf = "input: {path: x}\nstages:\n  length: {}\n  quality_fasttext: {model: /nope/model}\n"
    with pytest.raises(ConfigError, match="quality_fasttext"):
        load_config(_write(tmp_path, conf))
    assert load_config(_write(tmp_path, conf), only_stages=["length"]).stage_ids == ["length"]


def test_entries_that_are_not_files_are_counted_as_skipped(tmp_path):
    from thresher.conf import InputConfig
    from thresher.io.inputs import plan_inputs

    (tmp_path / "a.jsonl").write_text('{"text": "hello"}\n')
    (tmp_path / "dangling.jsonl").symlink_to(tmp_path / "gone.jsonl")
    os.mkfifo(tmp_path / "pipe.jsonl")
    planned = plan_inputs(None, (InputConfig(path=[str(tmp_path)]),))[0]  # type: ignore[arg-type]
    assert [f.path for f in planned.files] == [str(tmp_path / "a.jsonl")]
    assert planned.skipped == (str(tmp_path / "dangling.jsonl"), str(tmp_path / "pipe.jsonl"))


def test_a_changed_input_is_named(tmp_path):
    from thresher.conf import InputConfig
    from thresher.errors import ResumeError
    from thresher.input_listing import check_input_change, write_listing
    from thresher.io.inputs import fingerprint, plan_inputs
    from thresher.io.layout import OutputLayout

    (tmp_path / "in").mkdir()
    for name in ("a", "b"):
        (tmp_path / "in" / f"{name}.jsonl").write_text('{"text": "hello"}\n')
    inputs = (InputConfig(path=[str(tmp_path / "in")]),)
    layout = OutputLayout(str(tmp_path / "out"))
    before = plan_inputs(None, inputs)  # type: ignore[arg-type]
    write_listing(layout, before, fingerprint(before))
    (tmp_path / "out" / "checkpoints" / "00_ingest").mkdir(parents=True)
    (tmp_path / "out" / "checkpoints" / "00_ingest" / "_segment.json").write_text(
        json.dumps({"fingerprint": fingerprint(before)})
    )
    check_input_change(layout, before, fingerprint(before))
    (tmp_path / "in" / "a.jsonl").write_text('{"text": "hello again"}\n')
    (tmp_path / "in" / "c.jsonl").write_text('{"text": "new"}\n')
    after = plan_inputs(None, inputs)  # type: ignore[arg-type]
    with pytest.raises(
        ResumeError, match=r"00_ingest .* other files of the input: added .*c.jsonl; modified .*a.jsonl"
    ):
        check_input_change(layout, after, fingerprint(after))


def test_a_language_model_of_the_wrong_format_is_refused_at_validation(tmp_path):
    model = tmp_path / "lid.bin"
    model.write_bytes(b"PK\x03\x04 a zip file, not a fastText model")
    with pytest.raises(ConfigError, match=r"lid\.bin is not a fastText model"):
        load_config(data={"input": {"path": "x"}, "stages": {"language": {"model_path": str(model)}}})


# -- 17: one line for an unexpected failure -------------------------------------------------------------------


def test_unexpected_failures_are_described_in_one_line():
    from thresher.preflight import describe_failure

    java_trace = "An error occurred while calling o123.save.\n: java.io.IOException: No space left on device\n\tat x"
    assert describe_failure(RuntimeError(java_trace)).startswith("the disk is full")
    vanished = "Job aborted.\n: java.io.FileNotFoundException: File file:/out/checkpoints/01_x does not exist\n\tat y"
    assert describe_failure(RuntimeError(vanished)) == (
        "a file the run needs disappeared (was the output or an input deleted while it ran?): "
        ": java.io.FileNotFoundException: File file:/out/checkpoints/01_x does not exist"
    )
    assert describe_failure(ValueError("\nfirst line\nsecond")) == "ValueError: first line"


def test_a_missing_extra_is_named():
    from thresher.preflight import require_modules

    with pytest.raises(
        ConfigError, match=r"needs no_such_module_xyz, which is not installed: pip install 'thresher\[models\]'"
    ):
        require_modules(["no_such_module_xyz"], "train-classifier --kind embedding")


def test_the_summary_says_removed_in_filter_mode_and_flagged_in_annotate_mode(tmp_path):
    import io

    from thresher.runner import RunResult
    from thresher.summary import print_summary

    def row(stage, segment, mode, docs_in, excluded, flagged, reasons):
        return StageStats(
            run_id="r", stage_index=0, stage=stage, segment=segment, mode=mode, docs_in=docs_in,
            docs_out=docs_in - excluded, docs_excluded=excluded, docs_flagged=flagged, chars_in=100, chars_out=90,
            words_in=20, words_out=18, reason_counts=reasons, wall_seconds=2.0,
        )  # fmt: skip

    totals = {"input_records": 12, "kept": 9, "excluded": 1, "quarantine": 2}
    for mode, excluded in (("filter", 1), ("annotate", 0)):
        rows = [
            row("ingest", "00_ingest", mode, 12, 2, 2, {f"r{i}": 1 for i in range(2)}),
            row("normalize", "01_normalize+length", mode, 10, 0, 0, {}),
            row("length", "01_normalize+length", mode, 10, excluded, 1, {"too_short": 1}),
        ]
        out = io.StringIO()
        print_summary(RunResult("r", str(tmp_path), totals, rows), out)
        text = out.getvalue()
        lines = text.splitlines()
        header = next(line for line in lines if line.startswith("stage"))
        assert header.split()[4] == ("removed" if mode == "filter" else "flagged")
        normalize = next(line for line in lines if line.startswith("normalize"))
        length = next(line for line in lines if line.startswith("length"))
        assert normalize.split()[-1] == "2" and length.split()[-1] == "90.0%"  # 10 docs / (2 s + 2 s)
        assert "docs/s: per pass over the data" in text


def test_records_skipped_by_design_do_not_count_as_quarantined():
    # A WARC crawl: most records are requests and metadata, skipped by design; 3 are broken.
    ingest = _stats("ingest", 184, 124, {"bad_gzip_member": 1, "truncated_record": 1, "undecodable_header": 1})
    ingest.metrics.update({"skipped.request": 60.0, "skipped.metadata": 61.0})
    check_quarantine(ingest, 0.5)
    ingest.metrics.clear()
    with pytest.raises(RunLimitError, match=r"124 of 184 input records"):
        check_quarantine(ingest, 0.5)
