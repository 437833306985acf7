"""Create-if-absent on object stores, for the output lock and the dedup-index lease (`fs.create_exclusive`).

S3 (AWS since 2024-08, MinIO, moto) honours `If-None-Match: *` on PutObject: of two writers racing for one key,
exactly one succeeds and the other gets 412 Precondition Failed. pyarrow's file systems cannot send it, so S3 goes
through boto3 (the `s3` extra). Without boto3, and on Google Cloud Storage and Azure (pyarrow cannot send
`ifGenerationMatch=0` / `If-None-Match` either), the create is a check-then-write: two runs starting within the
same second may both take the lock; a warning says so once per process.
"""

from __future__ import annotations

import logging
from typing import Any

from thresher.io import objectstore

log = logging.getLogger("thresher")

_warned: set[str] = set()


def put_if_absent(uri: str, text: str) -> bool | None:
    """Write `text` to `uri` unless the object exists: True when written, False when it existed; None when this
    store (or this installation) cannot write conditionally and the caller must fall back to check-then-write."""
    store = objectstore.store_of(uri)
    if store is not objectstore.S3:
        _warn_once(store.name if store else uri, "the object store cannot be asked for a conditional write here")
        return None
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import ClientError
    except ImportError:
        _warn_once("boto3", "boto3 is not installed (pip install 'thresher[s3]')")
        return None
    bucket, _, key = uri.split("://", 1)[1].partition("/")
    options = objectstore.s3_client_options()
    client: Any = boto3.client(
        "s3",
        config=Config(s3={"addressing_style": "path"}) if options.get("endpoint_url") else None,
        **options,
    )
    try:
        client.put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"), IfNoneMatch="*")
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # 412: the object exists; 409: a concurrent conditional write to the same key is in progress.
        if status in (409, 412):
            return False
        raise
    return True


def _warn_once(what: str, why: str) -> None:
    if what not in _warned:
        _warned.add(what)
        log.warning(
            "%s: %s; the output lock and dedup-index lease are check-then-write there (two runs starting at the "
            "same moment may both proceed)",
            what,
            why,
        )
