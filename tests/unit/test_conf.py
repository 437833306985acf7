"""Config loading and its error messages (no Spark)."""

from __future__ import annotations

from pathlib import Path

import pytest

from thresher.conf import load_config
from thresher.errors import ConfigError

PROJECT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    return path


def test_shipped_configs_validate():
    for name in ("demo.yaml", "web_en.yaml"):
        config = load_config(PROJECT / "conf" / name)
        assert config.stages


def test_relative_paths_resolve_against_the_config_file(tmp_path):
    config = load_config(_write(tmp_path, "run: {output: out}\ninput: {path: data.jsonl}\n"))
    assert config.run.output == str(tmp_path / "out")
    assert config.inputs[0].path == ["data.jsonl"]  # input paths are globs, resolved at planning time


def test_bad_values_name_key_value_and_what_is_allowed(tmp_path):
    path = _write(
        tmp_path,
        "run: {mode: filtr}\ninput: {path: x.jsonl, colour: red}\nstages:\n  length: {min_words: -5}\n"
        "  nonsense: {}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "run.mode: 'filtr' is not allowed" in message and "'annotate' or 'filter'" in message
    assert "input.0.colour: unknown key; allowed keys: path, format" in message
    assert "stages.length.min_words: -5 is not allowed" in message
    assert "stages.nonsense: unknown stage 'nonsense'; available:" in message and "normalize" in message


def test_unknown_stage_parameter_lists_allowed_ones(tmp_path):
    with pytest.raises(
        ConfigError, match=r"stages.length.min_word: unknown key; allowed keys: default_language, languages, min_chars"
    ):
        load_config(_write(tmp_path, "input: {path: x}\nstages: {length: {min_word: 5}}\n"))


def test_inconsistent_bounds_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="max_words 10 < min_words 50"):
        load_config(_write(tmp_path, "input: {path: x}\nstages: {length: {min_words: 50, max_words: 10}}\n"))


def test_duplicate_keys_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="duplicate key 'length'"):
        load_config(_write(tmp_path, "input: {path: x}\nstages:\n  length: {}\n  length: {min_words: 3}\n"))


def test_overrides_and_stage_selection(tmp_path):
    path = _write(tmp_path, "input: {path: x}\nstages:\n  normalize: {}\n  length: {min_words: 5}\n")
    config = load_config(
        path,
        sets=["stages.length.min_words=50", "run.batch_size=64"],
        mode="annotate",
        output=str(tmp_path / "o"),
        only_stages=["length"],
        spark_conf=["spark.sql.shuffle.partitions=7"],
    )
    assert config.stage_ids == ["length"]
    assert config.stages[0].stage.params.min_words == 50
    assert config.run.batch_size == 64 and config.run.mode == "annotate"
    assert config.spark["spark.sql.shuffle.partitions"] == "7"
    with pytest.raises(ConfigError, match="--stages: dedup not in the config"):
        load_config(path, only_stages=["dedup"])


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(_write(tmp_path, "stages: [unclosed\n"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="--set 'oops': expected key=value"):
        load_config(_write(tmp_path, "input: {path: x}\n"), sets=["oops"])
