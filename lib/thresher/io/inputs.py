"""Input planning on the driver: expand paths and globs into files, pick each input's format, fingerprint it.

Only file metadata (names, sizes, modification times) is handled here; documents are read on executors.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from pyspark.sql import SparkSession

from thresher.core.records import Manifest
from thresher.errors import InputError
from thresher.io import fs
from thresher.io.layout import OutputLayout
from thresher.io.spec import InputSpec
from thresher.io.warc import ARC_NOT_SUPPORTED, is_arc_name

Format = Literal["jsonl", "parquet", "delta", "run", "warc", "wet"]
_JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
_COMPRESSION_SUFFIXES = (".gz", ".zst", ".zstd")
log = logging.getLogger(__name__)
_GLOB_CHARS = re.compile(r"[*?\[{]")
_BRACES = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class InputFile:
    path: str
    size: int
    mtime_ms: int


@dataclass(frozen=True)
class PlannedInput:
    config: InputSpec
    format: Format
    source: str
    # For jsonl/parquet: the files; for delta: the table roots; for run: the run output directories.
    files: tuple[InputFile, ...]
    # Entries under the input's directories that are not readable files (dangling symlinks, FIFOs, sockets).
    skipped: tuple[str, ...] = ()


def plan_inputs(spark: SparkSession, inputs: tuple[InputSpec, ...]) -> list[PlannedInput]:
    return [_plan_one(spark, config) for config in inputs]


def fingerprint(planned: list[PlannedInput]) -> str:
    """Changes when an input file is added, removed, resized or touched, or the input config changes."""
    digest = hashlib.sha256()
    for item in planned:
        digest.update(json.dumps(item.config.model_dump(mode="json"), sort_keys=True).encode())
        for f in item.files:
            digest.update(f"{f.path}\t{f.size}\t{f.mtime_ms}\n".encode())
    return digest.hexdigest()[:16]


def _plan_one(spark: SparkSession, config: InputSpec) -> PlannedInput:
    files: list[InputFile] = []
    delta_roots: list[InputFile] = []
    run_roots: list[InputFile] = []
    for pattern in config.path:
        for path in _expand(spark, pattern):
            if config.format in ("auto", "run") and fs.exists(OutputLayout(path).manifest):
                run_roots.append(_run_output(path))
            elif fs.exists(fs.join(path, "_delta_log")):
                delta_roots.append(InputFile(path, 0, 0))
            else:
                files.extend(_files_under(spark, path))
    if not files and not delta_roots and not run_roots:
        raise InputError(f"input {config.path}: no files found")
    arcs = [f.path for f in files if is_arc_name(f.path)]
    if arcs:
        raise InputError(f"input {config.path}: {PurePosixPath(arcs[0]).name}: {ARC_NOT_SUPPORTED}")
    fmt = config.format
    if run_roots or fmt == "run":
        if files or delta_roots:
            raise InputError(f"input {config.path}: format run takes only the output directories of thresher runs")
        _refuse_fields("run", config)
        return PlannedInput(config, "run", config.source or "run", tuple(run_roots))
    if fmt == "auto":
        fmt = _detect_format(config, files, delta_roots)
    if fmt in ("warc", "wet"):
        _refuse_fields(fmt, config)
    if fmt == "delta":
        if files and not delta_roots:
            raise InputError(f"input {config.path}: format delta, but no Delta table (_delta_log) was found")
        chosen = delta_roots
    else:
        if delta_roots:
            raise InputError(f"input {config.path}: Delta tables found; set format: delta (or auto)")
        chosen = [f for f in files if _matches(f.path, fmt)]
        if not chosen:
            raise InputError(f"input {config.path}: no {fmt} files among {len(files)} file(s)")
    chosen = sorted(chosen, key=lambda f: f.path)
    local = [pattern for pattern in config.path if fs.is_local(pattern)]
    skipped = tuple(entry for pattern in local for path in _expand(spark, pattern) for entry in _not_files(path))
    if skipped:
        log.warning(
            "input %s: skipped %d entries that are not regular files (dangling symlinks, FIFOs, sockets): %s",
            config.path,
            len(skipped),
            ", ".join(skipped[:5]),
        )
    return PlannedInput(config, fmt, _input_source(config, chosen), tuple(chosen), skipped)


def _refuse_fields(fmt: str, config: InputSpec) -> None:
    """`input.fields` maps record fields of JSON lines and tables; the records of WARC/WET files and of run
    outputs have fixed fields, so a mapping given for them would do nothing."""
    if "fields" in getattr(config, "model_fields_set", ()):
        raise InputError(
            f"input {config.path}: input.fields does not apply to format {fmt} (its records have fixed fields: "
            + ("WARC-Record-ID, WARC-Target-URI, the payload" if fmt in ("warc", "wet") else "those of kept/")
            + "); remove it"
        )


def _not_files(path: str) -> list[str]:
    """Entries under a local directory that listing skips because they are not regular files."""
    if not fs.is_local(path) or not os.path.isdir(fs.local_path(path)):
        return []
    found = []
    for folder, dirs, names in os.walk(fs.local_path(path)):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        for name in names:
            full = os.path.join(folder, name)
            if not name.startswith((".", "_")) and not os.path.isfile(full):
                found.append(full)
    return sorted(found)


def _input_source(config: InputSpec, files: list[InputFile]) -> str:
    """The input's name: its `source`, else the names of its paths joined by '+' (never the first path's alone:
    a mixture by source must see every path); with `source_by: file`, a description of the per-file names."""
    if config.source_by == "file":
        names = list(dict.fromkeys(file_source(f.path) for f in files))
        more = f" +{len(names) - 5} more" if len(names) > 5 else ""
        return f"per file: {', '.join(names[:5])}{more}"
    if config.source:
        return config.source
    names = list(dict.fromkeys(_default_source(p) for p in config.path))
    return "+".join(names[:5]) + (f"+{len(names) - 5} more" if len(names) > 5 else "")


def file_source(path: str) -> str:
    """The source name of one file (`source_by: file`): its name without format and compression suffixes."""
    return _default_source(path)


def _run_output(path: str) -> InputFile:
    """A finished run's output directory; its manifest's size and time stand for the kept/ table in the input
    fingerprint (they change whenever that run writes its final tables again)."""
    layout = OutputLayout(path)
    status = Manifest.from_json(fs.read_text(layout.manifest)).status
    if status != "succeeded":
        raise InputError(
            f"input {path}: the run there has status {status!r}, not 'succeeded'; finish it first "
            f"(thresher resume {path})"
        )
    if not fs.exists(fs.join(layout.kept, "_delta_log")):
        raise InputError(f"input {path}: the run has no kept/ table")
    info = fs.list_files(layout.manifest)[0]
    return InputFile(path, info.size, info.mtime_ms)


def _detect_format(config: InputSpec, files: list[InputFile], delta_roots: list[InputFile]) -> Format:
    if delta_roots and not files:
        return "delta"
    kinds = {_kind(f.path) for f in files}
    kinds.discard(None)
    if kinds == {"warc", "wet"}:
        # One reader takes both (responses and WET conversion records).
        return "warc"
    if len(kinds) == 1:
        return kinds.pop()  # type: ignore[return-value]
    if not kinds:
        names = ", ".join(PurePosixPath(f.path).name for f in files[:3])
        raise InputError(
            f"input {config.path}: cannot tell the format of {names}; "
            "set input.format (jsonl, parquet, delta, warc, wet)"
        )
    raise InputError(f"input {config.path}: mixes formats {sorted(kinds)}; use one input per format")


def _kind(path: str) -> Format | None:
    name = path.lower()
    for suffix in _COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith(_JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".wet"):
        return "wet"
    if name.endswith(".warc"):
        return "warc"
    return None


def _matches(path: str, fmt: Format) -> bool:
    kind = _kind(path)
    # With an explicit format, files of unknown extension are taken as that format (e.g. shards named
    # `part-00000`); files of another known format are not.
    return kind is None or kind == fmt or {kind, fmt} == {"warc", "wet"}


def _default_source(pattern: str) -> str:
    parts = [p for p in pattern.rstrip("/").split("/") if p]
    while parts and _GLOB_CHARS.search(parts[-1]):
        parts.pop()
    if not parts:
        return "input"
    name = parts[-1]
    for suffix in _COMPRESSION_SUFFIXES + _JSONL_SUFFIXES + (".parquet", ".warc.wet", ".warc"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or "input"


def _expand(spark: SparkSession, pattern: str) -> list[str]:
    if fs.is_local(pattern):
        local = os.path.abspath(fs.local_path(pattern))
        if _GLOB_CHARS.search(local):
            # Python's glob has no {a,b} alternatives (Hadoop's has): expand them first.
            matches = sorted({m for p in expand_braces(local) for m in glob.glob(p, recursive=True)})
            if not matches:
                raise InputError(f"input {pattern}: the glob matches nothing")
            return matches
        if not os.path.exists(local):
            raise InputError(f"input {pattern}: no such file or directory")
        return [local]
    return _expand_hadoop(spark, pattern)


def expand_braces(pattern: str) -> list[str]:
    """`data/{a,b}.jsonl` -> [`data/a.jsonl`, `data/b.jsonl`] (nested and repeated braces too)."""
    match = _BRACES.search(pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [expanded for choice in match.group(1).split(",") for expanded in expand_braces(head + choice + tail)]


def _files_under(spark: SparkSession, path: str) -> list[InputFile]:
    if fs.is_local(path) or _pyarrow_supports(path):
        return [
            InputFile(f.path if fs.is_local(path) else _with_scheme(path, f.path), f.size, f.mtime_ms)
            for f in fs.list_files(path)
        ]
    return _list_hadoop(spark, path)


def _pyarrow_supports(uri: str) -> bool:
    return uri.split("://", 1)[0] in {"s3", "gs", "gcs", "hdfs", "abfs", "az"}


def _with_scheme(original: str, listed: str) -> str:
    scheme = original.split("://", 1)[0]
    return listed if "://" in listed else f"{scheme}://{listed}"


def _expand_hadoop(spark: SparkSession, pattern: str) -> list[str]:
    jvm = spark._jvm  # type: ignore[attr-defined]
    path = jvm.org.apache.hadoop.fs.Path(pattern)
    hadoop_fs = path.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
    statuses = hadoop_fs.globStatus(path)
    if not statuses:
        raise InputError(f"input {pattern}: matches nothing")
    return sorted(str(s.getPath().toString()) for s in statuses)


def _list_hadoop(spark: SparkSession, root: str) -> list[InputFile]:
    jvm = spark._jvm  # type: ignore[attr-defined]
    path = jvm.org.apache.hadoop.fs.Path(root)
    hadoop_fs = path.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
    files = []
    iterator = hadoop_fs.listFiles(path, True)
    while iterator.hasNext():
        status = iterator.next()
        name = str(status.getPath().toString())
        relative = name[len(root.rstrip("/")) :]
        if any(part.startswith((".", "_")) for part in relative.split("/") if part):
            continue
        files.append(InputFile(name, int(status.getLen()), int(status.getModificationTime())))
    return files
