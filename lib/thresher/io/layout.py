"""Where a run's tables and files live under its output directory."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow.fs as pafs

from thresher.io import fs

INGEST_SEGMENT = "00_ingest"


@dataclass(frozen=True)
class OutputLayout:
    root: str

    @property
    def kept(self) -> str:
        return fs.join(self.root, "kept")

    @property
    def excluded(self) -> str:
        return fs.join(self.root, "excluded")

    @property
    def quarantine(self) -> str:
        return fs.join(self.root, "quarantine")

    @property
    def stats(self) -> str:
        return fs.join(self.root, "stats")

    @property
    def checkpoints(self) -> str:
        return fs.join(self.root, "checkpoints")

    @property
    def manifest(self) -> str:
        return fs.join(self.root, "manifest.json")

    @property
    def report(self) -> str:
        return fs.join(self.root, "report.html")

    def checkpoint(self, segment: str) -> str:
        return fs.join(self.checkpoints, segment)

    def segment_info(self, segment: str) -> str:
        """Written into a checkpoint before its Delta commit: what produced it (fingerprint, stages, params)."""
        return fs.join(self.checkpoint(segment), "_segment.json")

    def scratch(self, segment: str) -> str:
        """Intermediate data of a global stage; removed once its checkpoint is committed."""
        return fs.join(self.root, "_scratch", segment)

    def existing_checkpoints(self) -> list[str]:
        fsys, base = fs.filesystem(self.checkpoints)
        if fsys.get_file_info(base).type != pafs.FileType.Directory:
            return []
        entries = fsys.get_file_info(pafs.FileSelector(base, recursive=False))
        return sorted(
            e.base_name
            for e in entries
            if e.type == pafs.FileType.Directory and not e.base_name.startswith(("_", "."))
        )
