"""`thresher explain`: per-document signals and decisions of every stage, without Spark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thresher.cli import main

PROSE = "\n".join(
    [
        "The river runs through the old town and past the mill that was built in the last century.",
        "Every spring the water rises with the melting snow, and people move their boats to higher ground.",
        "Children play on the bridge while their parents talk about the weather and the harvest.",
        "In the evening the lamps are lit and the streets grow quiet again. Write to mayor@town.example.",
        "Visitors often stay at the inn by the square, where the bread is baked before dawn.",
        "The mill still turns on market days, and the miller explains how the stones grind the grain.",
    ]
)


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    def no_spark(*args: object, **kwargs: object) -> None:
        raise AssertionError("explain must not start Spark")

    monkeypatch.setattr("thresher.spark.get_spark", no_spark)
    config = tmp_path / "pipeline.yaml"
    config.write_text(
        "input: {path: data.jsonl, fields: {id: key, text: body}}\n"
        "stages:\n  gopher_quality: {}\n  c4_quality: {}\n  refine: {}\n  pii: {}\n"
    )
    docs = tmp_path / "docs.jsonl"
    lines = [
        json.dumps({"key": "good", "body": PROSE}),
        "{not json",
        json.dumps({"key": "short", "body": "Too short to keep."}),
        json.dumps({"key": "empty", "body": ""}),
    ]
    docs.write_text("\n".join(lines) + "\n")
    return config, docs


def test_explain_prints_every_stage_and_the_first_drop(files: tuple[Path, Path], capsys) -> None:
    config, docs = files
    assert main(["explain", str(config), str(docs)]) == 0
    out, err = capsys.readouterr()
    assert "line 2: not valid JSON" in err and "line 4: no text" in err
    good, short = out.split("\n\n")[:2]
    assert good.startswith("[1/2] good") and "-> KEPT" in good
    assert "non_symbol_words=" in good and "[50..100000]" in good
    assert "refine" in good and "global stage: not run by explain" in good
    assert "emails=1" in good
    assert short.startswith("[2/2] short") and "DROPPED by gopher_quality: too_few_words" in short


def test_explain_json_and_selection(files: tuple[Path, Path], capsys) -> None:
    config, docs = files
    assert main(["explain", str(config), str(docs), "--json", "--id", "good", "--stages", "pii"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 1
    record = records[0]
    assert record["doc_id"] == "good" and record["decision"] == "keep"
    assert record["stages"]["pii"]["emails"] == 1
    assert "<EMAIL>" in record["text"]


def test_explain_errors(files: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    config, _ = files
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert main(["explain", str(config), str(empty)]) == 2
    assert "no documents to explain" in capsys.readouterr().err
    assert main(["explain", str(config), str(tmp_path / "missing.jsonl")]) == 2


def test_explain_skips_a_lone_surrogate_and_refuses_a_plain_directory(files, tmp_path: Path, capsys) -> None:
    config, _ = files
    docs = tmp_path / "surrogate.jsonl"
    docs.write_text(
        '{"key": "bad", "body": "half a pair \\ud800 here"}\n' + json.dumps({"key": "good", "body": PROSE})
    )
    assert main(["explain", str(config), str(docs)]) == 0
    out, err = capsys.readouterr()
    assert "line 1: text holds a lone surrogate" in err and "[1/1] good" in out
    folder = tmp_path / "folder"
    folder.mkdir()
    assert main(["explain", str(config), str(folder)]) == 2
    assert "is a directory but not a finished thresher run" in capsys.readouterr().err
