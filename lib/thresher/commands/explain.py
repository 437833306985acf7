"""`thresher explain CONF FILE.jsonl`: every stage's signals and decision for each document, without Spark.

The row stages of the config run in annotate mode (every stage sees every document, in config order, text
rewrites included) through the same fused pass Spark runs. Global stages need the whole corpus, so they are
listed but not run; row stages after them see the text as it was before them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from thresher.conf import PipelineConfig, load_config
from thresher.errors import ConfigError
from thresher.schema import REWRITTEN_TEXT
from thresher.stages.base import RowStage, Stage
from thresher.stages.fused import run_row_stages

GLOBAL_NOTE = "global stage: not run by explain (it needs the whole corpus; run the pipeline for it)"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="show every stage's signals and decision per document (no Spark)",
        description="Run the row stages of a config on a few documents and print, for each document, every "
        "stage's signals and keep/drop decision, with the configured bounds. Global stages are listed, not run.",
    )
    parser.add_argument("config", help="pipeline YAML")
    parser.add_argument("input", metavar="FILE.jsonl", help="documents, one JSON object per line")
    parser.add_argument("--limit", type=int, default=20, help="documents to explain (default 20; 0 for all)")
    parser.add_argument("--id", action="append", default=[], help="only the document with this id (repeatable)")
    parser.add_argument("--stages", help="comma-separated stage ids: explain only these stages of the config")
    parser.add_argument("--json", action="store_true", help="one JSON object per document instead of text")
    parser.set_defaults(handler=_explain)


def _explain(args: argparse.Namespace) -> int:
    only = [s.strip() for s in args.stages.split(",") if s.strip()] if args.stages else None
    config = load_config(args.config, only_stages=only)
    docs, problems = read_documents(Path(args.input), config, args.limit, set(args.id))
    for problem in problems:
        print(f"thresher explain: {problem}", file=sys.stderr)
    if not docs:
        raise ConfigError(f"{args.input}: no documents to explain")
    rows = explain_documents(config, docs)
    stages = [spec.stage for spec in config.stages]
    for index, (doc, row) in enumerate(zip(docs, rows, strict=True), start=1):
        if args.json:
            print(json.dumps(as_json(doc, row, stages), ensure_ascii=False, default=str))
        else:
            print_document(sys.stdout, index, len(docs), doc, row, stages)
    return 0


def _field(record: dict[str, Any], dotted: str | None) -> Any:
    value: Any = record
    for part in (dotted or "").split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def read_documents(
    path: Path, config: PipelineConfig, limit: int, ids: set[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Documents of a JSONL file as {doc_id, text, url}, mapped with the config's first input's field map."""
    if path.is_dir():
        return _run_documents(path, limit, ids), []
    fields = config.inputs[0].fields
    docs: list[dict[str, Any]] = []
    problems: list[str] = []
    try:
        handle = path.open(encoding="utf-8", errors="replace")
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                problems.append(f"line {number}: not valid JSON ({error.msg}); skipped")
                continue
            text = _field(record, fields.text) if isinstance(record, dict) else None
            if not isinstance(text, str) or not text.strip():
                problems.append(f"line {number}: no text in field {fields.text!r}; skipped")
                continue
            if not _is_unicode(text):
                # The pipeline quarantines such a record (invalid_unicode); printing it would fail.
                problems.append(f"line {number}: text holds a lone surrogate (not Unicode); skipped")
                continue
            doc_id = _field(record, fields.id) if fields.id else None
            doc_id = _printable(str(doc_id)) if doc_id is not None else f"line-{number}"
            if ids and doc_id not in ids:
                continue
            url = _field(record, fields.url) if fields.url else None
            docs.append({"doc_id": doc_id, "text": text, "url": _printable(url) if isinstance(url, str) else None})
            if limit and len(docs) >= limit:
                break
    return docs, problems


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(text: str) -> str:
    return text if _is_unicode(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


def _run_documents(path: Path, limit: int, ids: set[str]) -> list[dict[str, Any]]:
    """The kept/ documents of a thresher run's output directory (read with delta-rs and pyarrow, no Spark)."""
    kept = path / "kept"
    if not (path / "manifest.json").is_file() or not (kept / "_delta_log").is_dir():
        raise ConfigError(
            f"{path} is a directory but not a finished thresher run (no manifest.json and kept/ table); give a "
            "JSONL file or a run's output directory"
        )
    import pyarrow.dataset as pads
    from deltalake import DeltaTable

    dataset = pads.dataset(DeltaTable(str(kept)).file_uris(), format="parquet")
    docs: list[dict[str, Any]] = []
    for batch in dataset.to_batches(columns=["doc_id", "text", "url"]):
        for row in batch.to_pylist():
            if ids and row["doc_id"] not in ids:
                continue
            docs.append(row)
            if limit and len(docs) >= limit:
                return docs
    return docs


def _row_runs(stages: list[Stage]) -> Iterator[list[RowStage]]:
    run: list[RowStage] = []
    for stage in stages:
        if isinstance(stage, RowStage):
            run.append(stage)
        else:
            if run:
                yield run
            run = []
    if run:
        yield run


def explain_documents(config: PipelineConfig, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each document with every row stage's struct (global stages have none). Each run of row stages between
    global stages continues from the text the previous run left."""
    rows = [dict(doc) for doc in docs]
    for run in _row_runs([spec.stage for spec in config.stages]):
        rows = run_row_stages(run, rows, mode="annotate")
    return rows


def first_drop(row: dict[str, Any], stages: list[Stage]) -> tuple[str, str] | None:
    for stage in stages:
        result = row.get(stage.id)
        if isinstance(result, dict) and result.get("keep") is False:
            return stage.id, result.get("reason") or "unspecified"
    return None


def as_json(doc: dict[str, Any], row: dict[str, Any], stages: list[Stage]) -> dict[str, Any]:
    dropped = first_drop(row, stages)
    return {
        "doc_id": doc["doc_id"],
        "decision": "keep" if dropped is None else "drop",
        "dropped_by": None if dropped is None else {"stage": dropped[0], "reason": dropped[1]},
        "stages": {s.id: row.get(s.id) if isinstance(s, RowStage) else {"note": GLOBAL_NOTE} for s in stages},
        # The text as the rewrites left it (the input's text when no stage rewrites).
        "text": row.get(REWRITTEN_TEXT) or row.get("text"),
    }


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str) and len(value) > 40:
        return repr(value[:37] + "...")
    return str(value)


def _format_signal(name: str, value: Any, bounds: tuple[float | None, float | None] | None) -> str:
    text = f"{name}={_format_value(value)}"
    if bounds and (bounds[0] is not None or bounds[1] is not None):
        low, high = ("" if b is None else f"{b:g}" for b in bounds)
        text += f" [{low}..{high}]"
    return text


def print_document(
    out: TextIO, index: int, total: int, doc: dict[str, Any], row: dict[str, Any], stages: list[Stage]
) -> None:
    dropped = first_drop(row, stages)
    verdict = "KEPT" if dropped is None else f"DROPPED by {dropped[0]}: {dropped[1]}"
    preview = " ".join(doc["text"].split())[:80]
    out.write(f"[{index}/{total}] {doc['doc_id']}  {len(doc['text'])} chars  -> {verdict}\n")
    out.write(f"    {preview!r}\n")
    width = max(len(s.id) for s in stages)
    for stage in stages:
        if not isinstance(stage, RowStage):
            out.write(f"  {stage.id:<{width}}  --    {GLOBAL_NOTE}\n")
            continue
        result = row.get(stage.id) or {}
        decision = "keep" if result.get("keep") else f"DROP {result.get('reason')}"
        bounds = stage.thresholds()
        names = [f.name for f in stage.result_type().fields if f.name not in ("keep", "reason")]
        signals = [_format_signal(n, result[n], bounds.get(n)) for n in names if result.get(n) is not None]
        out.write(f"  {stage.id:<{width}}  {decision}\n")
        if signals:
            out.write(f"  {'':<{width}}    {'  '.join(signals)}\n")
    out.write("\n")
