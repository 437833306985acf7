"""File-system access for local paths and object-store URIs (through pyarrow.fs).

Everything the driver reads or writes (manifest, segment records, report, locks, listings) goes through these
functions, for any path a user may give: a local path, `file://`, or an object-store URI whose scheme and
credentials `thresher.io.objectstore` maps (`s3://`, `s3a://`, `gs://`, `abfss://`)."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

import pyarrow.fs as pafs

from thresher.io import objectstore
from thresher.io.conditional_put import put_if_absent


def is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def local_path(path: str) -> str:
    return path[len("file://") :] if path.startswith("file://") else path


def join(base: str, *parts: str) -> str:
    return posixpath.join(base.rstrip("/"), *parts)


def filesystem(path: str) -> tuple[pafs.FileSystem, str]:
    if is_local(path):
        return pafs.LocalFileSystem(), os.path.abspath(local_path(path))
    return objectstore.arrow_filesystem(path)


@dataclass(frozen=True)
class FileInfo:
    path: str  # as the file system names it (absolute local path or bucket/key)
    size: int
    mtime_ms: int


def list_files(path: str, recursive: bool = True) -> list[FileInfo]:
    """Files under a directory, hidden ('.', '_') files and directories skipped, sorted by path."""
    fs, base = filesystem(path)
    info = fs.get_file_info(base)
    if info.type == pafs.FileType.NotFound:
        return []
    if info.type == pafs.FileType.File:
        return [FileInfo(base, info.size, _mtime_ms(info))]
    selector = pafs.FileSelector(base, recursive=recursive)
    out = []
    for item in fs.get_file_info(selector):
        relative = posixpath.relpath(item.path, base)
        if item.type != pafs.FileType.File or any(p.startswith((".", "_")) for p in relative.split("/")):
            continue
        out.append(FileInfo(item.path, item.size, _mtime_ms(item)))
    return sorted(out, key=lambda f: f.path)


def _mtime_ms(info: pafs.FileInfo) -> int:
    return int(info.mtime.timestamp() * 1000) if info.mtime is not None else 0


def exists(path: str) -> bool:
    fs, base = filesystem(path)
    return fs.get_file_info(base).type != pafs.FileType.NotFound


def delete(path: str) -> None:
    fs, base = filesystem(path)
    info = fs.get_file_info(base)
    if info.type == pafs.FileType.Directory:
        fs.delete_dir(base)
    elif info.type == pafs.FileType.File:
        fs.delete_file(base)


def read_text(path: str) -> str:
    fs, base = filesystem(path)
    with fs.open_input_stream(base) as stream:
        return stream.read().decode("utf-8")


def write_text_atomic(path: str, text: str) -> None:
    """Write a small file so that readers see the old or the new content, never a torn one."""
    fs, base = filesystem(path)
    if not is_local(path):
        # An object-store PUT replaces the object whole; a rename there would be a copy and a delete.
        with fs.open_output_stream(base) as stream:
            stream.write(text.encode("utf-8"))
        return
    fs.create_dir(posixpath.dirname(base), recursive=True)
    temporary = f"{base}.tmp-{os.getpid()}"
    with fs.open_output_stream(temporary) as stream:
        stream.write(text.encode("utf-8"))
    fs.move(temporary, base)


def list_dir(path: str) -> list[str]:
    """Names of the entries (files and directories, hidden ones included) directly under a directory; [] when it
    does not exist. On object stores a "directory" is a key prefix."""
    fs, base = filesystem(path)
    if fs.get_file_info(base).type != pafs.FileType.Directory:
        return []
    return sorted(entry.base_name for entry in fs.get_file_info(pafs.FileSelector(base, recursive=False)))


def is_dir(path: str) -> bool:
    fs, base = filesystem(path)
    return fs.get_file_info(base).type == pafs.FileType.Directory


def create_exclusive(path: str, text: str) -> bool:
    """Create `path` with `text` unless it exists; False when it does. Atomic on local file systems and on S3
    with boto3 (a conditional PutObject); elsewhere a check-then-write (see thresher.io.conditional_put)."""
    if is_local(path):
        local = os.path.abspath(local_path(path))
        os.makedirs(os.path.dirname(local), exist_ok=True)
        try:
            descriptor = os.open(local, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        return True
    written = put_if_absent(path, text)
    if written is not None:
        return written
    if exists(path):
        return False
    write_text_atomic(path, text)
    return True
