"""Issue 12 (trust) on the shared Spark session: runs that would be wrong without a word now fail loudly, and
sources name where documents came from. Each test reproduces a command or config from the issue."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from pyspark.sql.types import StructField

from thresher.conf import PipelineConfig, StageSpec, load_config
from thresher.errors import ConfigError, ThresherError
from thresher.io.delta import DeltaStore
from thresher.limits import RunLimitError
from thresher.output_lock import OutputLock, OutputLockedError
from thresher.runner import run_pipeline
from thresher.stages.base import RowStage, StageResult
from thresher.stages.fused import DocBatch

pytestmark = pytest.mark.spark

TEXT = "The committee met on Tuesday to discuss the new timetable for the river ferries and the bridge."


def _jsonl(path: Path, n: int, prefix: str) -> Path:
    path.write_bytes(b"".join(orjson.dumps({"id": f"{prefix}-{i}", "text": f"{TEXT} {i}"}) + b"\n" for i in range(n)))
    return path


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def test_a_csv_read_as_jsonl_fails_the_run(spark, tmp_path):
    (tmp_path / "data.csv").write_text("id,text\n1,hello world\n2,another row\n3,third\n")
    out = tmp_path / "out"
    config = load_config(
        data={"run": {"output": str(out)}, "input": {"path": str(tmp_path / "data.csv"), "format": "jsonl"}}
    )
    with pytest.raises(RunLimitError, match=r"4 of 4 input records \(100.0%\) were quarantined \(invalid_json 4\)"):
        run_pipeline(config, spark)
    manifest = _manifest(out)
    assert manifest["status"] == "failed" and manifest["error"].startswith("RunLimitError: 4 of 4 input records")
    assert "\n" not in manifest["error"]
    assert not (out / "kept").exists()


def _corrupt_zstd_without_checksum(path: Path) -> int:
    """A .jsonl.zst written without frame checksum and damaged by one flipped byte that decodes without error
    into garbled lines (the first such position, found deterministically); returns how many lines are garbled."""
    import zstandard

    words = ["river", "stone", "bridge", "ferry", "market", "window", "garden", "silver", "orange", "meadow"]
    lines = [
        orjson.dumps({"id": f"d{i}", "text": " ".join(words[(i * 7 + j * j) % 10] for j in range(40))})
        for i in range(200)
    ]
    packed = zstandard.ZstdCompressor(level=3, write_checksum=False).compress(b"\n".join(lines) + b"\n")
    for position in range(len(packed) // 3, len(packed)):
        damaged = bytearray(packed)
        damaged[position] ^= 0x55
        try:
            decoded = zstandard.ZstdDecompressor().decompressobj().decompress(bytes(damaged))
        except zstandard.ZstdError:
            continue
        records = decoded.removesuffix(b"\n").split(b"\n")
        changed = [line for line in records if line not in lines]
        if len(changed) >= 3 and not any(_valid_json(line) for line in changed):
            path.write_bytes(bytes(damaged))
            return len(changed)
    raise AssertionError("no corrupting position found")


def _valid_json(line: bytes) -> bool:
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


def test_a_corrupt_zstd_file_without_checksum_fails_naming_the_file(spark, tmp_path):
    # Issue 12, item 10: zstd frames without checksum decode some damage into garbled lines, not an error. The
    # lines are quarantined with a note, the manifest and log name the file before reading, and the quarantine
    # limit's error names the file and the likely cause.
    path = tmp_path / "part-0.jsonl.zst"
    garbled = _corrupt_zstd_without_checksum(path)
    out = tmp_path / "out"
    config = load_config(
        data={"run": {"output": str(out), "max_quarantine_fraction": 0.001}, "input": {"path": str(path)}}
    )
    with pytest.raises(RunLimitError) as failure:
        run_pipeline(config, spark)
    message = str(failure.value)
    assert f"most are in {path} ({garbled} of its " in message
    assert "likely a corrupt compressed file (its zstd frames have no content checksum" in message
    assert _manifest(out)["input_files"][0]["zstd_without_checksum"] == [str(path)]


class _Broken(RowStage):
    """A stage with a bug: it raises on every document."""

    id = "broken"

    def signal_fields(self) -> list[StructField]:
        return []

    def process(self, batch: DocBatch) -> StageResult:
        raise KeyError("missing field")


def test_a_stage_that_raises_on_its_documents_fails_the_run(spark, tmp_path):
    _jsonl(tmp_path / "a.jsonl", 5, "a")
    out = tmp_path / "out"
    loaded = load_config(data={"run": {"output": str(out)}, "input": {"path": str(tmp_path / "a.jsonl")}})
    config = PipelineConfig(
        loaded.run, loaded.inputs, loaded.spark, (StageSpec("broken", _Broken()),), loaded.resolved
    )
    with pytest.raises(
        RunLimitError, match=r"stage broken raised on 5 of 5 documents \(100.0%: stage_error:KeyError 5"
    ):
        run_pipeline(config, spark)
    assert _manifest(out)["status"] == "failed"


def test_two_paths_of_one_input_are_not_named_by_the_first(spark, tmp_path):
    _jsonl(tmp_path / "a.jsonl", 3, "a")
    _jsonl(tmp_path / "b.jsonl", 2, "b")
    paths = [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]
    out = tmp_path / "out"
    config = load_config(data={"run": {"output": str(out)}, "input": {"path": paths, "source_by": "file"}})
    run_pipeline(config, spark)
    kept = DeltaStore(spark, "delta-rs").read(str(out / "kept"))
    assert sorted(
        (r.source, r.n) for r in kept.groupBy("source").count().withColumnRenamed("count", "n").collect()
    ) == [
        ("a", 3),
        ("b", 2),
    ]
    assert _manifest(out)["input_files"][0]["source"] == "per file: a, b"
    # Without source_by the input keeps one name, but it names both paths.
    joined = load_config(data={"run": {"output": str(tmp_path / "o2")}, "input": {"path": paths}})
    from thresher.io.inputs import plan_inputs

    assert plan_inputs(spark, joined.inputs)[0].source == "a+b"


def test_a_mixture_weight_for_a_value_that_does_not_occur_is_refused(spark, tmp_path):
    _jsonl(tmp_path / "a.jsonl", 3, "a")
    config = load_config(
        data={
            "run": {"output": str(tmp_path / "out")},
            "input": [{"path": str(tmp_path / "a.jsonl")}],
            "stages": {
                "budget": {"unit": "docs", "budget": 2, "mixture_by": "source", "mixture": {"a": 0.3, "b": 0.7}}
            },
        }
    )
    with pytest.raises(
        ThresherError, match=r"stages.budget.mixture: 'b' match no value of source; its values are: 'a'"
    ):
        run_pipeline(config, spark)


def test_a_second_run_into_a_locked_output_is_refused(spark, tmp_path):
    _jsonl(tmp_path / "a.jsonl", 2, "a")
    out = tmp_path / "out"
    config = load_config(data={"run": {"output": str(out)}, "input": {"path": str(tmp_path / "a.jsonl")}})
    with OutputLock(str(out)), pytest.raises(OutputLockedError, match="is in use by another thresher run"):
        run_pipeline(config, spark)
    assert not (out / "manifest.json").exists()


def test_an_output_inside_the_input_directory_is_refused(spark, tmp_path):
    _jsonl(tmp_path / "a.jsonl", 2, "a")
    config = load_config(data={"run": {"output": str(tmp_path / "out")}, "input": {"path": str(tmp_path)}})
    with pytest.raises(ConfigError, match="inside \\(or equal to\\) the input"):
        run_pipeline(config, spark)


def test_invalid_utf8_in_a_parquet_string_column_is_quarantined(spark, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = [TEXT.encode(), b"broken \xff\xfe bytes in the middle", TEXT.encode()]
    data = b"".join(texts)
    offsets = pa.array([0, *[sum(len(t) for t in texts[: i + 1]) for i in range(3)]], pa.int32())
    column = pa.Array.from_buffers(pa.string(), 3, [None, offsets.buffers()[1], pa.py_buffer(data)])
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": column}), tmp_path / "docs.parquet")
    out = tmp_path / "out"
    config = load_config(
        data={
            "run": {"output": str(out)},
            "input": {"path": str(tmp_path / "docs.parquet")},
            "stages": {"length": {"min_words": 3}},
        }
    )
    result = run_pipeline(config, spark)
    assert result.totals == {"input_records": 3, "kept": 2, "excluded": 0, "quarantine": 1}
    quarantine = DeltaStore(spark, "delta-rs").read(str(out / "quarantine")).collect()
    assert [r.reason for r in quarantine] == ["invalid_utf8"]
    # A column the user names must exist (the default `id` and `url` may be absent).
    renamed = load_config(
        data={
            "run": {"output": str(tmp_path / "o2")},
            "input": {"path": str(tmp_path / "docs.parquet"), "fields": {"id": "key"}},
        }
    )
    with pytest.raises(ThresherError, match=r"no such column\(s\): input.fields.id: 'key'; columns: \['id', 'text'\]"):
        run_pipeline(renamed, spark)


# A web_en.yaml-like pipeline: row stages, then refine, exact and near dedup (each a segment of its own).
PIPELINE = {
    "c4_quality": {},
    "gopher_repetition": {},
    "length": {"min_words": 50},
    "refine": {"min_docs": 4},
    "exact_dedup": {},
    "minhash_dedup": {},
}


def _annotate_select_corpus(path: Path, source: Path, n: int) -> dict[str, str]:
    """`n` real documents plus twins that make the global stages' decisions depend on which documents are
    still alive: a near-duplicate c4_quality excludes (`lorem ipsum`) whose doc_id sorts first, so minhash_dedup
    over every document would keep it and drop the live original; a twin whose extra line c4_quality removes,
    an exact duplicate of the rewritten original only."""
    # Split on newlines only: JSON strings may hold U+2028 or U+0085, which splitlines() also splits on.
    lines = [line for line in source.read_text(encoding="utf-8").split("\n") if line.strip()][:n]
    docs = [json.loads(line) for line in lines]
    docs = [{"id": d["id"], "text": d["text"]} for d in docs]
    twins = []
    for i, doc in enumerate(docs[:60]):
        twins.append({"id": f"0dead-{i}", "text": doc["text"] + "\nLorem ipsum dolor sit amet."})
        twins.append({"id": f"0rewritten-{i}", "text": doc["text"] + "\nPlease enable JavaScript to view this."})
    everything = docs + twins
    path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in everything))
    return {d["id"]: d["text"] for d in everything}


def test_annotate_then_select_equals_filter_on_a_real_corpus(spark, tmp_path):
    # Issue 12, item 6: annotate keeps every original text, and selecting with its decisions yields exactly the
    # filter run's kept documents with exactly their texts ("score once, select many"), also with global stages
    # (refine, exact and near dedup), which in annotate mode decide over the documents still alive.
    from tests.conftest import shared_corpus

    corpus = tmp_path / "corpus.jsonl"
    originals = _annotate_select_corpus(corpus, shared_corpus("dolma_cc_2019_30_raw.jsonl"), 300)
    store = DeltaStore(spark, "delta-rs")

    def run(name: str, mode: str, source: dict, stages: dict) -> Path:
        out = tmp_path / name
        config = load_config(data={"run": {"output": str(out), "mode": mode}, "input": source, "stages": stages})
        run_pipeline(config, spark)
        return out

    filtered = run("filtered", "filter", {"path": str(corpus)}, PIPELINE)
    annotated = run("annotated", "annotate", {"path": str(corpus)}, PIPELINE)
    condition = " AND ".join(f"{stage}.keep" for stage in PIPELINE)
    selected = run(
        "selected", "filter", {"path": str(annotated), "format": "run"}, {"keep_if": {"condition": condition}}
    )

    scored = store.read(str(annotated / "kept")).select("doc_id", "text", "rewritten_text").collect()
    assert len(scored) > 400 and all(r.text == originals[r.doc_id] for r in scored)
    assert sum(r.rewritten_text != r.text for r in scored) > 100  # the corpus is raw: rewrites are many

    expected = {r.doc_id: r.text for r in store.read(str(filtered / "kept")).select("doc_id", "text").collect()}
    got = {r.doc_id: r.text for r in store.read(str(selected / "kept")).select("doc_id", "text").collect()}
    assert 50 < len(expected) < len(originals)
    assert got == expected
    # The twins did what they are for: originals kept beside an excluded near-duplicate, rewritten twins
    # exact duplicates of their originals.
    excluded = store.read(str(filtered / "excluded")).select("doc_id", "stage").collect()
    stage_of = {r.doc_id: r.stage for r in excluded}
    assert sum(stage_of.get(f"0dead-{i}") == "c4_quality" for i in range(60)) > 20
    # The rewritten twin's doc_id sorts first: it is the kept copy, its original the exact duplicate.
    twin_of = {originals[f"0rewritten-{i}"]: f"0rewritten-{i}" for i in range(60)}
    exact = [doc_id for doc_id, text in originals.items() if stage_of.get(doc_id) == "exact_dedup"]
    assert sum(f"{originals[doc_id]}\nPlease enable JavaScript to view this." in twin_of for doc_id in exact) > 10
    # In annotate mode the global stages decided on the live documents only: null results for the others.
    decided = store.read(str(annotated / "kept")).select("doc_id", *PIPELINE).collect()
    stages = list(PIPELINE)
    for row in decided:
        for k in range(stages.index("refine"), len(stages)):
            alive = all(row[earlier] is not None and row[earlier].keep for earlier in stages[:k])
            assert (row[stages[k]] is not None) == alive, (row.doc_id, stages[k])


def test_a_global_rewriting_stage_keeps_the_original_text_in_annotate_mode(spark, tmp_path):
    boilerplate = "Share this article on social media"
    # refine compares lines case-folded with digits as 0: the other lines differ by a word.
    names = ["alpha", "beta", "gamma", "delta"]
    docs = [{"id": n, "text": f"{TEXT} {n}\n{boilerplate}\nThe {n} sentence ends here."} for n in names]
    (tmp_path / "a.jsonl").write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    out = tmp_path / "out"
    config = load_config(
        data={
            "run": {"output": str(out), "mode": "annotate"},
            "input": {"path": str(tmp_path / "a.jsonl")},
            "stages": {"pii": {}, "refine": {"min_docs": 3}, "length": {"min_words": 3}},
        }
    )
    run_pipeline(config, spark)
    kept = DeltaStore(spark, "delta-rs").read(str(out / "kept")).collect()
    assert sorted(r.text for r in kept) == sorted(d["text"] for d in docs)
    assert all(boilerplate not in r.rewritten_text and r.refine.lines_removed == 1 for r in kept)
