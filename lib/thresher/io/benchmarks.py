"""Benchmark files for decontamination: JSON lines (.jsonl, .jsonl.gz, .jsonl.zst), one item per line.

An item's text is its configured fields joined with spaces, in the configured order; a field may hold a
string or a list of strings (MMLU's `choices`). Items are numbered by their 0-based line in the file; blank
lines keep their number and hold no item. A line that is not a JSON object, or lacks a configured field, is
an error naming the file, the line and the field: a benchmark silently half-indexed would under-report.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from thresher.errors import ThresherError
from thresher.io import fs
from thresher.io.jsonl import iter_lines, open_decompressed

# Benchmark items are small; a longer line is a sign of a wrong file.
_MAX_LINE_BYTES = 64 << 20


def item_text(record: dict[str, Any], fields: Sequence[str], where: str) -> str:
    parts = []
    for name in fields:
        if name not in record:
            raise ThresherError(f"{where}: no field {name!r} (fields: {', '.join(map(str, record))})")
        value = record[name]
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            parts.extend(str(v) for v in value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            parts.append(str(value))
        else:
            raise ThresherError(f"{where}: field {name!r} is {type(value).__name__}, not a string or a list of them")
    return " ".join(parts)


def read_items(path: str, fields: Sequence[str]) -> Iterator[tuple[int, str]]:
    """(0-based line, item text) of each non-blank line of `path`."""
    filesystem, resolved = fs.filesystem(path)
    with filesystem.open_input_stream(resolved, compression=None) as raw:
        stream = open_decompressed(raw, resolved)
        for line_no, _offset, content, length in iter_lines(stream, _MAX_LINE_BYTES):
            index = line_no - 1
            where = f"{path} line {index}"
            if length > _MAX_LINE_BYTES:
                raise ThresherError(f"{where}: longer than {_MAX_LINE_BYTES} bytes; is this a benchmark file?")
            if not content.strip():
                continue
            try:
                record = orjson.loads(content)
            except orjson.JSONDecodeError as error:
                raise ThresherError(f"{where}: not JSON ({error})") from None
            if not isinstance(record, dict):
                raise ThresherError(f"{where}: not a JSON object")
            yield index, item_text(record, fields, where)
