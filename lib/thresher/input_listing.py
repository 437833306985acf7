"""The input files a run's ingest checkpoint was made from, kept beside it (`<output>/_inputs.json`), so that a
resume refused because the input changed can name the files that were added, removed or modified."""

from __future__ import annotations

import json
from typing import Any

from thresher.errors import ResumeError
from thresher.io import fs
from thresher.io.inputs import PlannedInput
from thresher.io.layout import INGEST_SEGMENT, OutputLayout

_SHOWN = 5


def listing_path(layout: OutputLayout) -> str:
    return fs.join(layout.root, "_inputs.json")


def write_listing(layout: OutputLayout, planned: list[PlannedInput], fingerprint: str) -> None:
    files = {f.path: [f.size, f.mtime_ms] for item in planned for f in item.files}
    settings = [item.config.model_dump(mode="json") for item in planned]
    body = {"fingerprint": fingerprint, "settings": settings, "files": files}
    fs.write_text_atomic(listing_path(layout), json.dumps(body) + "\n")


def check_input_change(layout: OutputLayout, planned: list[PlannedInput], fingerprint: str) -> None:
    """Raise ResumeError naming what changed when the committed ingest was made from other input files."""
    info_path = layout.segment_info(INGEST_SEGMENT)
    if not fs.exists(info_path) or not fs.exists(listing_path(layout)):
        return
    committed = json.loads(fs.read_text(info_path)).get("fingerprint")
    listing: dict[str, Any] = json.loads(fs.read_text(listing_path(layout)))
    if committed == fingerprint or listing.get("fingerprint") != committed:
        return
    before: dict[str, list[int]] = listing.get("files", {})
    now = {f.path: [f.size, f.mtime_ms] for item in planned for f in item.files}
    changes = [
        *(f"added {p}" for p in sorted(set(now) - set(before))),
        *(f"removed {p}" for p in sorted(set(before) - set(now))),
        *(f"modified {p}" for p in sorted(set(now) & set(before)) if now[p] != before[p]),
    ]
    if listing.get("settings") != [item.config.model_dump(mode="json") for item in planned]:
        changes.insert(0, "input settings changed")
    if not changes:
        return
    shown = "; ".join(changes[:_SHOWN]) + (f"; and {len(changes) - _SHOWN} more" if len(changes) > _SHOWN else "")
    raise ResumeError(
        f"checkpoint {INGEST_SEGMENT} in {layout.root} was committed from other files of the input: {shown}. To "
        f"recompute from the new input, delete {layout.checkpoint(INGEST_SEGMENT)} and every later checkpoint; "
        "for a separate run use a new --output directory"
    )
