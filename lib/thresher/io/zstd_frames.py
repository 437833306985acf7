"""Zstandard input files whose frames carry no content checksum (issue 12, item 10): corruption inside such a
frame can decode to garbled bytes instead of an error, so the run warns about them before reading (manifest
`input_files[].zstd_without_checksum`, the log) and the quarantine limit's error names the file."""

from __future__ import annotations

from collections.abc import Sequence

import zstandard

from thresher.io import fs

# Checked at planning time: the first frame of this many .zst files per input (one small read each).
MAX_FILES_CHECKED = 256


def first_frame_has_checksum(path: str) -> bool:
    """Whether the first zstd frame of `path` has a content checksum (true for what is not a zstd frame)."""
    filesystem, name = fs.filesystem(path)
    with filesystem.open_input_file(name) as handle:
        head = handle.read(18)
    if not head.startswith(zstandard.FRAME_HEADER):
        return True
    try:
        return bool(zstandard.get_frame_parameters(head).has_checksum)
    except zstandard.ZstdError:
        return True  # a broken header fails the read itself, loudly


def zstd_files_without_checksum(paths: Sequence[str]) -> list[str]:
    """The .zst files among the first MAX_FILES_CHECKED of `paths` whose first frame has no checksum."""
    candidates = [p for p in paths if p.lower().endswith((".zst", ".zstd"))][:MAX_FILES_CHECKED]
    unchecked = []
    for path in candidates:
        try:
            if not first_frame_has_checksum(path):
                unchecked.append(path)
        except OSError:
            continue  # unreadable: the reader quarantines it as unreadable_file
    return unchecked
