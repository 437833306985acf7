"""Issue 12, "the same class of problem elsewhere": options of last round's features that did nothing or did the
wrong thing without a word are refused with a one-line reason (each test is the adversarial config it tried)."""

from __future__ import annotations

from pathlib import Path

import pytest

from thresher.conf import InputConfig, load_config
from thresher.errors import ConfigError, InputError
from thresher.io.inputs import _plan_one
from thresher.output_safety import check_output_location


def _config(tmp_path: Path, stages: dict) -> None:
    (tmp_path / "a.jsonl").write_text('{"id": "a", "text": "hello world"}\n')
    load_config(
        data={"run": {"output": str(tmp_path / "out")}, "input": {"path": str(tmp_path / "a.jsonl")}, "stages": stages}
    )


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        # Documents never have language 'xx': the override, the default language would silently do nothing...
        (
            {"gopher_quality": {"preset": "fineweb2", "languages": {"xx": {"min_doc_words": 5}}}},
            "languages: unknown language code 'xx'",
        ),
        (
            {"gopher_quality": {"preset": "fineweb2", "default_language": "qqq"}},
            "default_language: unknown language code 'qqq'",
        ),
        ({"fineweb_quality": {"default_language": "zz"}}, "default_language: unknown language code 'zz'"),
        # ... and the language stage would exclude every document.
        ({"language": {"languages": ["en", "xx"]}}, "languages: unknown language code 'xx'"),
        ({"language": {"thresholds": {"qq": 0.3}}}, "thresholds: unknown language code 'qq'"),
    ],
)
def test_unknown_language_codes_are_refused(tmp_path, stages, message):
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, stages)


def test_known_codes_and_preset_entries_are_accepted(tmp_path):
    _config(
        tmp_path, {"gopher_quality": {"preset": "fineweb2", "default_language": "fra_Latn", "languages": {"zh": {}}}}
    )
    _config(tmp_path, {"language": {"languages": ["en", "fra", "cmn_Hani"]}})


def test_a_dedup_index_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "idx").write_text("not a table")
    with pytest.raises(ConfigError, match=r"index '.*idx' is a file; the dedup index is a directory"):
        _config(tmp_path, {"exact_dedup": {"index": str(tmp_path / "idx")}})


def test_a_dedup_index_inside_the_output_or_an_input_is_refused(tmp_path):
    # Inside the output, the index would make the run's own resume refuse the output as holding foreign files.
    output, inputs = str(tmp_path / "out"), [str(tmp_path / "data")]
    with pytest.raises(ConfigError, match=r"dedup index .* and run.output .* overlap"):
        check_output_location(output, inputs, False, index_paths=[str(tmp_path / "out" / "index")])
    with pytest.raises(ConfigError, match=r"dedup index .* and run.output .* overlap"):
        check_output_location(output, inputs, False, index_paths=[str(tmp_path)])
    with pytest.raises(ConfigError, match=r"dedup index .* is inside .* the input"):
        check_output_location(output, inputs, False, index_paths=[str(tmp_path / "data" / "idx")])
    # A glob that cannot reach the index's files, and an index beside the output, are fine.
    check_output_location(
        output, [str(tmp_path / "data" / "*.jsonl")], False, index_paths=[str(tmp_path / "data" / "i")]
    )
    check_output_location(output, inputs, False, index_paths=[str(tmp_path / "index")])


@pytest.mark.parametrize("name", ["crawl.warc.gz", "crawl.warc.wet.gz"])
def test_input_fields_on_warc_input_are_refused(tmp_path, name):
    # WARC/WET records have fixed fields: `fields.text: body` would be ignored without a word.
    (tmp_path / name).write_bytes(b"")
    for fmt in ("auto", "warc" if "wet" not in name else "wet"):
        config = InputConfig(path=[str(tmp_path / name)], format=fmt, fields={"text": "body"})
        with pytest.raises(InputError, match=r"input.fields does not apply to format (warc|wet)"):
            _plan_one(None, config)  # type: ignore[arg-type]
    _plan_one(None, InputConfig(path=[str(tmp_path / name)]))  # type: ignore[arg-type]


def test_set_of_one_entry_into_a_default_map_is_refused(tmp_path):
    # `--set stages.gopher_repetition.dup_n_grams.5=0.2` made the map {5: 0.2}: the default 6- to 10-gram rules
    # were switched off without a word.
    config = tmp_path / "c.yaml"
    config.write_text("input: {path: a.jsonl}\nstages:\n  gopher_repetition: {}\n  minhash_dedup: {}\n")
    with pytest.raises(ConfigError, match=r"would replace its whole default \{.*\}; give the whole map"):
        load_config(config, sets=["stages.gopher_repetition.dup_n_grams.5=0.2"])
    whole = load_config(config, sets=["stages.gopher_repetition.dup_n_grams={5: 0.2, 6: 0.1}"])
    assert whole.stages[0].stage.params.dup_n_grams == {5: 0.2, 6: 0.1}
    # A map the config sets is edited entry by entry; a nested parameter group keeps its other defaults.
    config.write_text(
        "input: {path: a.jsonl}\nstages:\n  gopher_repetition: {dup_n_grams: {5: 0.15, 6: 0.14}}\n"
        "  minhash_dedup: {}\n"
    )
    edited = load_config(
        config,
        sets=["stages.gopher_repetition.dup_n_grams.5=0.2", "stages.minhash_dedup.normalization.lowercase=false"],
    )
    assert edited.stages[0].stage.params.dup_n_grams == {5: 0.2, 6: 0.14}
    assert edited.stages[1].stage.params.normalization.lowercase is False


def test_an_error_raised_while_handling_ctrl_c_counts_as_the_interrupt():
    # pyspark raises KeyboardInterrupt inside a py4j call, which then fails with "Gateway must be connected to
    # send cancel cmd": the command line must still say "interrupted" (exit 130), not report that error.
    import logging

    from thresher.interrupts import DropInterruptTraces, caused_by_interrupt

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise ValueError("Gateway must be connected to send cancel cmd") from None
    except ValueError as error:
        chained = error
    assert caused_by_interrupt(chained) and not caused_by_interrupt(ValueError("other"))
    record = logging.LogRecord("root", logging.ERROR, "", 0, "KeyboardInterrupt while sending command.", (), None)
    assert DropInterruptTraces().filter(record)
    record.exc_info = (KeyboardInterrupt, KeyboardInterrupt(), None)
    assert not DropInterruptTraces().filter(record)
