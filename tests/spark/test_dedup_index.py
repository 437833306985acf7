"""Dedup across crawls: each dump deduplicated against a Delta index of what earlier runs kept must keep what one
run over all the dumps keeps, at exact, URL and MinHash level; updates are atomic, idempotent and exclusive."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tests.conftest import shared_corpus
from tests.spark.dedup_dumps import CROSS_KINDS, WITHIN_KINDS, write_dumps
from thresher.conf import load_config
from thresher.dedup.batches import MinHashBatches, MinHashSettings
from thresher.dedup.index import DedupIndex, IndexBusyError, IndexConflictError
from thresher.io.delta import DeltaStore, resolve_format
from thresher.runner import RunResult, run_pipeline
from thresher.stages.base import StageContext
from thresher.stages.exact_dedup import ExactDedup, ExactDedupParams
from thresher.stages.minhash_dedup import MinHashDedup, MinHashDedupParams
from thresher.stages.url_dedup import UrlDedup, UrlDedupParams

pytestmark = pytest.mark.spark

STAGES = ("exact_dedup", "url_dedup", "minhash_dedup")


def _config(out: Path, inputs: list[Path], index: Path | None, update: bool | None = None, **minhash: Any):
    with_index = {} if index is None else {"index": str(index)}
    if update is not None:
        with_index["update_index"] = update
    return load_config(
        data={
            "run": {"output": str(out), "mode": "filter", "report": False},
            "input": {"path": [str(p) for p in inputs], "format": "jsonl"},
            "stages": {
                "exact_dedup": dict(with_index),
                "url_dedup": dict(with_index),
                "minhash_dedup": {**with_index, **minhash},
            },
        }
    )


def _run(spark: SparkSession, out: Path, inputs: list[Path], index: Path | None, **kwargs: Any) -> RunResult:
    until = kwargs.pop("until", None)
    return run_pipeline(_config(out, inputs, index, **kwargs), spark, until=until)


def _table(spark: SparkSession, result: RunResult, name: str):
    return DeltaStore(spark, resolve_format(spark, "auto")).read(f"{result.output}/{name}")


def _kept(spark: SparkSession, result: RunResult) -> set[str]:
    return {r["doc_id"] for r in _table(spark, result, "kept").select("doc_id").collect()}


def _excluded(spark: SparkSession, result: RunResult) -> dict[str, dict[str, Any]]:
    rows = _table(spark, result, "excluded").select(
        "doc_id", "stage", "reason", F.col("meta")["copy_of"].alias("copy_of"), *STAGES
    )
    out = {}
    for r in rows.collect():
        decision = r[r["stage"]]
        out[r["doc_id"]] = {
            "stage": r["stage"],
            "reason": r["reason"],
            "copy_of": r["copy_of"],
            "duplicate_of": decision["duplicate_of"],
            "earlier_run": decision["earlier_run"],
        }
    return out


def _check_cross_dump_copies(spark: SparkSession, result: RunResult, earlier_runs: set[str]) -> None:
    """Every copy of an earlier dump's document is excluded by the stage of its kind, pointing to that document
    and its run; copies within the dump as without an index."""
    excluded = _excluded(spark, result)
    kinds = {**CROSS_KINDS, **WITHIN_KINDS}
    for doc_id, row in excluded.items():
        kind = doc_id.split("-")[2]
        assert (row["stage"], row["reason"]) == kinds[kind], (doc_id, row)
        assert row["duplicate_of"] == row["copy_of"]
        assert (row["earlier_run"] in earlier_runs) if kind in CROSS_KINDS else row["earlier_run"] is None
    assert {d.split("-")[2] for d in excluded} >= set(CROSS_KINDS)


def test_a_run_adds_its_documents_once_at_its_end_and_alone(spark, tmp_path):
    """Through the runner: dump 2 against dump 1's index; stopped before the end (as a killed run) it adds
    nothing and holds the index; its resume adds its documents, a rerun adds nothing twice."""
    dumps = write_dumps(tmp_path / "dumps", dumps=2, originals=12, copies=2)
    index = tmp_path / "index"
    first = _run(spark, tmp_path / "run1", dumps[:1], index)
    assert first.totals == {"input_records": 14, "kept": 12, "excluded": 2, "quarantine": 0}
    version = DedupIndex(spark, str(index)).version()

    stopped = _run(spark, tmp_path / "run2", dumps[1:], index, until="minhash_dedup")
    assert stopped.stopped_after and DedupIndex(spark, str(index)).version() == version
    with pytest.raises(IndexBusyError, match=f"being updated by run '{stopped.run_id}'"):
        _run(spark, tmp_path / "other", dumps[1:], index)

    resumed = _run(spark, tmp_path / "run2", dumps[1:], index)
    assert resumed.run_id == stopped.run_id
    _check_cross_dump_copies(spark, resumed, {first.run_id})
    stats = DedupIndex(spark, str(index)).stats()
    assert stats["version"] == version + 1 and stats["lease"] is None
    assert stats["runs"] == {first.run_id: 12, resumed.run_id: 12} and stats["documents"] == 24
    assert stats["rows_per_kind"] == {"minhash": 24, "text_hash": 24, "url_key": 24}

    rerun = _run(spark, tmp_path / "run2", dumps[1:], index)
    assert _kept(spark, rerun) == _kept(spark, resumed)
    assert DedupIndex(spark, str(index)).version() == version + 1


def _dedup(spark: SparkSession, frame, run_id: str, scratch: Path, index: Path | None, update: bool = True):
    """exact_dedup, url_dedup, minhash_dedup in filter mode on `frame` (the stages alone, without the runner),
    then the end-of-run index commit: (kept doc ids, {excluded doc id: (stage, reason, duplicate_of,
    earlier_run)})."""
    with_index = {} if index is None else {"index": str(index), "update_index": update}
    stages = [
        ExactDedup(ExactDedupParams(**with_index)),
        UrlDedup(UrlDedupParams(**with_index)),
        MinHashDedup(MinHashDedupParams(**with_index)),
    ]
    excluded = {}
    for stage in stages:
        ctx = StageContext(spark, run_id, "filter", 1, str(scratch / run_id / stage.id))
        decided = ctx.materialize(stage.apply(frame, ctx)[0], "out")
        for r in decided.where(~F.col(f"{stage.id}.keep")).select("doc_id", stage.id).collect():
            d = r[stage.id]
            excluded[r["doc_id"]] = (stage.id, d["reason"], d["duplicate_of"], d["earlier_run"] if index else None)
        frame = decided.where(F.col(f"{stage.id}.keep")).drop(stage.id)
    if index is not None and update:
        DedupIndex(spark, str(index)).commit(run_id, [s.id for s in stages], frame)
    return {r["doc_id"] for r in frame.select("doc_id").collect()}, excluded


def test_three_dumps_against_the_index_keep_what_one_run_over_all_keeps(spark, tmp_path):
    paths = write_dumps(tmp_path / "dumps", dumps=3, originals=20, copies=3)
    frames = [
        spark.read.json(str(p)).select(F.col("id").alias("doc_id"), "text", "url", "copy_of", "copy_kind")
        for p in paths
    ]
    copy_of = {r["doc_id"]: r["copy_of"] for f in frames for r in f.select("doc_id", "copy_of").collect()}
    index, scratch = tmp_path / "index", tmp_path / "scratch"
    kinds = {**CROSS_KINDS, **WITHIN_KINDS}
    kept_by_dump = []
    for number, frame in enumerate(frames, start=1):
        if number == 3:
            dry_kept, dry_excluded = _dedup(spark, frame, "dry", scratch, index, update=False)
            assert DedupIndex(spark, str(index)).version() == 1
        kept, excluded = _dedup(spark, frame, f"dump{number}", scratch, index)
        kept_by_dump.append(kept)
        for doc_id, (stage, reason, duplicate_of, earlier_run) in excluded.items():
            kind = doc_id.split("-")[2]
            assert (stage, reason) == kinds[kind] and duplicate_of == copy_of[doc_id], doc_id
            assert earlier_run == (f"dump{duplicate_of[0]}" if kind in CROSS_KINDS else None)
        assert len(excluded) == (3 * 3 if number > 1 else 0) + 2 * 1
    assert (dry_kept, dry_excluded) == (kept_by_dump[2], excluded)
    everything = frames[0].unionByName(frames[1]).unionByName(frames[2])
    kept_at_once, _ = _dedup(spark, everything, "all", scratch, None)
    assert set().union(*kept_by_dump) == kept_at_once and len(kept_at_once) == 60
    stats = DedupIndex(spark, str(index)).stats()
    assert stats["documents"] == 60 and stats["runs"] == {"dump1": 20, "dump2": 20, "dump3": 20}

    # Dump 1 processed again as a new run: its documents are their indexed selves, kept as before and not
    # added again; its copies are duplicates of them.
    again, excluded = _dedup(spark, frames[0], "dump1-again", scratch, index)
    assert again == kept_by_dump[0]
    assert {v[1] for v in excluded.values()} == {"duplicate_of_earlier_run"}
    assert DedupIndex(spark, str(index)).version() == 2

    other = MinHashDedup(MinHashDedupParams(index=str(index), update_index=False, bands=16, rows=7))
    ctx = StageContext(spark, "other-settings", "filter", 1, str(scratch / "other"))
    with pytest.raises(IndexConflictError, match="bands: index 14, stage 16; rows: index 8, stage 7"):
        other.apply(frames[0], ctx)


def _real_dumps(folder: Path) -> tuple[list[Path], dict[str, int]]:
    """The real crawl sample split in two dumps (alternate lines, so its copies and near-duplicate groups span
    both), plus copies derived from dump 1's documents placed in dump 2: exact copies, near-duplicates (two words
    replaced) and new texts under an earlier URL. Ids are prefixed by the dump, so one run over both keeps
    dump 1's copy of a cluster, as dump 2 against dump 1's index does."""
    with shared_corpus("dolma_cc_2019_30_raw.jsonl").open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    dumps: list[list[dict[str, Any]]] = [[], []]
    for number, record in enumerate(records):
        dump = number % 2
        dumps[dump].append(
            {
                "id": f"{dump + 1}-{record['id']}",
                "text": record["text"],
                "url": f"https://crawl.example/{record['id']}",
            }
        )
    rng = random.Random(3)
    long_docs = [d for d in dumps[0] if len(d["text"].split()) >= 200]
    derived = {"exact": 10, "near": 20, "url": 10}
    targets = rng.sample(long_docs, sum(derived.values()))
    fresh_texts = [d["text"] for d in dumps[1] if len(d["text"].split()) >= 50]
    for i, target in enumerate(targets):
        kind = "exact" if i < 10 else "near" if i < 30 else "url"
        copy = {"id": f"2-x-{kind}-{i:03d}", "url": f"https://mirror.example/{i}", "copy_of": target["id"]}
        if kind == "exact":
            copy["text"] = target["text"] + "\n"
        elif kind == "near":
            words = target["text"].split(" ")
            for position in rng.sample(range(len(words)), 2):
                words[position] = rng.choice(words)
            copy["text"] = " ".join(words)
        else:
            copy["text"] = rng.choice(fresh_texts) + " Updated."
            copy["url"] = target["url"] + "?utm_source=newsletter"
        dumps[1].append(copy)
    paths = []
    for number, docs in enumerate(dumps, start=1):
        path = folder / f"dump{number}.jsonl"
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(d) + "\n" for d in docs))
        paths.append(path)
    return paths, derived


def _near_duplicate_pairs(texts: list[str], threshold: float = 0.8) -> int:
    """Pairs of texts whose word 5-gram sets (minhash_dedup's defaults) have Jaccard >= threshold: candidates
    from the stage's own band keys, checked exactly."""
    params = MinHashDedupParams()
    settings = MinHashSettings(
        params.normalization, params.unit, params.ngram, params.num_perm, 14, 8, params.seed, with_shingle_set=True
    )
    batch = pa.RecordBatch.from_pydict(
        {"doc_id": [str(i) for i in range(len(texts))], "rank": [None] * len(texts), "text": texts}
    )
    out = MinHashBatches(settings).run_batch(batch)
    sets = [set(s) for s in out.column("shingle_set").to_pylist()]
    candidates = {}
    for doc, keys in enumerate(out.column("buckets").to_pylist()):
        for key in keys:
            candidates.setdefault(key, []).append(doc)
    pairs = {(a, b) for members in candidates.values() for a in members for b in members if a < b}
    return sum(1 for a, b in pairs if len(sets[a] & sets[b]) / len(sets[a] | sets[b]) >= threshold)


def test_real_crawl_in_two_dumps_keeps_what_one_run_over_both_keeps(spark, tmp_path):
    # The stages alone (as in the test above): the runner's part in using an index is tested through it in
    # test_a_run_adds_its_documents_once_at_its_end_and_alone.
    (dump1, dump2), derived = _real_dumps(tmp_path / "dumps")
    texts, copy_of = {}, {}
    for path in (dump1, dump2):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts[record["id"]] = record["text"]
            copy_of[record["id"]] = record.get("copy_of")
    frames = [spark.read.json(str(p)).select(F.col("id").alias("doc_id"), "text", "url") for p in (dump1, dump2)]
    index, scratch = tmp_path / "index", tmp_path / "scratch"
    kept_first, _ = _dedup(spark, frames[0], "first", scratch, index)
    kept_second, excluded = _dedup(spark, frames[1], "second", scratch, index)
    kept_one, _ = _dedup(spark, frames[0].unionByName(frames[1]), "both", scratch, None)

    kept_two = kept_first | kept_second
    assert len(kept_two) == len(kept_one)
    assert _near_duplicate_pairs([texts[d] for d in sorted(kept_two)]) <= _near_duplicate_pairs(
        [texts[d] for d in sorted(kept_one)]
    )

    earlier = {d: r for d, r in excluded.items() if r[1] == "duplicate_of_earlier_run"}
    assert all(run == "first" and duplicate_of.startswith("1-") for _, _, duplicate_of, run in earlier.values())
    by_stage = {stage: sum(1 for r in earlier.values() if r[0] == stage) for stage in STAGES}
    # Each derived copy is removed by the stage of its kind, pointing to its original; the real copies that the
    # split put in both dumps are removed too.
    for kind, stage in (("exact", "exact_dedup"), ("url", "url_dedup"), ("near", "minhash_dedup")):
        copies = {d: r for d, r in excluded.items() if d.startswith(f"2-x-{kind}-")}
        assert len(copies) == derived[kind]
        assert all(r[0] == stage and r[2] == copy_of[d] for d, r in copies.items()), copies
    assert by_stage["exact_dedup"] > derived["exact"] and by_stage["minhash_dedup"] > derived["near"]
