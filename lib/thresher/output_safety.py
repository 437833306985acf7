"""Refuse output directories where a run would destroy or re-read files: a file-system root, an input directory
(or a directory an input's glob reaches into: the next run would ingest this run's tables), and a directory
holding files thresher did not write (unless the user allows it: `run.allow_other_files`, `--allow-other-files`).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections.abc import Iterable, Sequence

import pyarrow.fs as pafs

from thresher.errors import ConfigError
from thresher.io import fs

# What a run writes at the top of its output directory; names starting with "_" are thresher's own too
# (`_scratch`, `_thresher.lock`). Add here what a new feature writes there.
THRESHER_ENTRIES = frozenset(
    {"kept", "excluded", "quarantine", "stats", "checkpoints", "manifest.json", "report.html"}
)
_GLOB_CHARS = re.compile(r"[*?\[{]")


def check_output_location(
    output: str, input_paths: Iterable[str], allow_other_files: bool, index_paths: Iterable[str] = ()
) -> None:
    """Raise ConfigError when writing to `output` is unsafe (see the module doc), or a dedup index of the run
    (`index_paths`) is inside the output or an input, or holds the output."""
    input_paths = list(input_paths)
    target = _normalized(output)
    for index in index_paths:
        _check_index_location(index, output, input_paths)
    if target.rstrip("/") in ("", "/") or _is_bucket_root(output):
        raise ConfigError(f"run.output {output!r} is the root of a file system; give a directory for this run")
    for pattern in input_paths:
        if _reaches_into(_normalized(pattern), target):
            raise ConfigError(
                f"run.output {output!r} is inside (or equal to) the input {pattern!r}: a later run would read this "
                "run's own files as input; put the output somewhere else"
            )
    if not allow_other_files:
        foreign = foreign_entries(output)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise ConfigError(
                f"run.output {output!r} holds files thresher did not write ({shown}); use an empty or new directory, "
                "or pass --allow-other-files (run.allow_other_files: true) to write there anyway"
            )


def _check_index_location(index: str, output: str, input_paths: Sequence[str]) -> None:
    """A dedup index outlives the runs that update it: inside a run's output it would be taken for a user's files
    (the run's resume is refused) and go when the output is removed; inside an input the next run would read its
    files as documents."""
    where = _normalized(index)
    if _reaches_into(_normalized(output), where) or _reaches_into(where, _normalized(output)):
        raise ConfigError(
            f"dedup index {index!r} and run.output {output!r} overlap (one is inside the other): give the index a "
            "directory of its own, outside every run's output"
        )
    for pattern in input_paths:
        if _reaches_into(_normalized(pattern), where):
            raise ConfigError(
                f"dedup index {index!r} is inside (or equal to) the input {pattern!r}: a later run would read the "
                "index's files as input; put the index somewhere else"
            )


def foreign_entries(output: str) -> list[str]:
    """Top-level names in `output` that a thresher run does not write."""
    filesystem, path = fs.filesystem(output)
    info = filesystem.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        return []
    if info.type != pafs.FileType.Directory:
        return [posixpath.basename(path)]
    entries = filesystem.get_file_info(pafs.FileSelector(path, recursive=False))
    return sorted(
        e.base_name for e in entries if e.base_name not in THRESHER_ENTRIES and not e.base_name.startswith("_")
    )


def _reaches_into(pattern: str, target: str) -> bool:
    """Whether the input `pattern` (a path or glob) names `target` or a directory above it, so that reading the
    input would list files under `target`."""
    pattern_parts = _parts(pattern)
    target_parts = _parts(target)
    for i, part in enumerate(pattern_parts):
        if part == "**":
            return True
        if i >= len(target_parts):
            # The pattern goes deeper than the output: it names files below it, never the output's own tables.
            return False
        if _GLOB_CHARS.search(part):
            if not any(fnmatch.fnmatchcase(target_parts[i], p) for p in _braces(part)):
                return False
        elif part != target_parts[i]:
            return False
    # Every part of the pattern matched a leading part of the output: the input is the output or above it.
    return True


def _braces(part: str) -> Sequence[str]:
    match = re.search(r"\{([^{}]*)\}", part)
    if not match:
        return [part]
    return [
        expanded
        for choice in match.group(1).split(",")
        for expanded in _braces(part[: match.start()] + choice + part[match.end() :])
    ]


def _parts(path: str) -> list[str]:
    scheme, sep, rest = path.partition("://")
    prefix = [f"{scheme}://"] if sep else []
    return prefix + [p for p in (rest if sep else path).split("/") if p]


def _normalized(path: str) -> str:
    if "://" in path and not path.startswith("file://"):
        return path.rstrip("/")
    local = path.removeprefix("file://")
    return os.path.realpath(local) if not _GLOB_CHARS.search(local) else os.path.abspath(local)


def _is_bucket_root(path: str) -> bool:
    scheme, sep, rest = path.partition("://")
    return bool(sep) and scheme != "file" and "/" not in rest.strip("/")
