"""Object stores, one mapping for both halves of a run.

Users write `s3://`, `s3a://`, `gs://`, `abfss://` (or a local path / `file://`). The two halves of a run know
them under different names:

* Spark (executors, and the driver's Hadoop listing) goes through a Hadoop FileSystem class per scheme, which
  comes from a jar that pip's pyspark does not carry (hadoop-aws, the GCS connector, hadoop-azure);
* the driver's pyarrow (manifest, `_segment.json`, report, listings) and delta-rs (Delta commits) know `s3://`,
  `gs://` and `abfs[s]://`, but not `s3a://`.

Credentials come, in this order, from explicit storage options (the Hadoop settings of the Spark session, e.g.
`spark.hadoop.fs.s3a.endpoint` in the config's `spark:` section or on the spark-submit line, which the executors
use too), from the environment (`AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`, `GOOGLE_APPLICATION_CREDENTIALS`,
`AZURE_STORAGE_ACCOUNT_KEY`, ...), and else from the instance's own identity (instance profile, workload
identity, managed identity), which every library here finds by itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from thresher.errors import ThresherError


@dataclass(frozen=True)
class Store:
    """One kind of object store: its scheme for pyarrow/delta-rs and the Hadoop side that Spark needs."""

    name: str
    arrow_scheme: str
    hadoop_class: str
    # Maven coordinates for --packages; {hadoop} is the Hadoop version of the installed Spark.
    package: str


S3 = Store("S3", "s3", "org.apache.hadoop.fs.s3a.S3AFileSystem", "org.apache.hadoop:hadoop-aws:{hadoop}")
GCS = Store(
    "Google Cloud Storage",
    "gs",
    "com.google.cloud.hadoop.fs.gcs.GoogleHadoopFileSystem",
    # --packages cannot name the shaded classifier; --jars takes its URL (see the README).
    "com.google.cloud.bigdataoss:gcs-connector:3.0.9 (the -shaded jar, with --jars)",
)
AZURE = Store(
    "Azure Data Lake Storage Gen2",
    "abfss",
    "org.apache.hadoop.fs.azurebfs.SecureAzureBlobFileSystem",
    "org.apache.hadoop:hadoop-azure:{hadoop}",
)

# The schemes users may write, and the store each names.
SCHEMES: dict[str, Store] = {"s3": S3, "s3a": S3, "s3n": S3, "gs": GCS, "gcs": GCS, "abfs": AZURE, "abfss": AZURE}
LOCAL_SCHEMES = ("file",)

# Hadoop S3A settings and the delta-rs (object_store) option each becomes on the driver.
_S3A_TO_STORAGE_OPTION = {
    "fs.s3a.access.key": "AWS_ACCESS_KEY_ID",
    "fs.s3a.secret.key": "AWS_SECRET_ACCESS_KEY",
    "fs.s3a.session.token": "AWS_SESSION_TOKEN",
    "fs.s3a.endpoint": "AWS_ENDPOINT_URL",
    "fs.s3a.endpoint.region": "AWS_REGION",
}
_S3_ENVIRONMENT = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL")

# Explicit storage options, by store name: set from the Spark session's Hadoop settings (`configure`).
_explicit: dict[str, dict[str, str]] = {}


def scheme_of(uri: str) -> str | None:
    """The URI's scheme in lower case; None for a local path (also `file://` and Windows-less plain paths)."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", uri)
    if not match or match.group(1).lower() in LOCAL_SCHEMES:
        return None
    return match.group(1).lower()


def store_of(uri: str) -> Store | None:
    scheme = scheme_of(uri)
    return SCHEMES.get(scheme) if scheme else None


def for_arrow(uri: str) -> str:
    """The URI as pyarrow and delta-rs name it: `s3a://b/k` -> `s3://b/k`; others unchanged."""
    scheme = scheme_of(uri)
    store = SCHEMES.get(scheme) if scheme else None
    if store is None or scheme == store.arrow_scheme:
        return uri
    if store is AZURE:
        return uri  # pyarrow and delta-rs take abfs:// and abfss:// alike
    return f"{store.arrow_scheme}://{uri.split('://', 1)[1]}"


def with_scheme_of(original: str, path: str) -> str:
    """A path as the driver's file system lists it (`bucket/key`), under the scheme the user wrote."""
    scheme = scheme_of(original)
    if scheme is None or "://" in path:
        return path
    if store_of(original) is AZURE:
        # pyarrow lists `container/path`; the account lives in the URI's authority.
        authority = original.split("://", 1)[1].split("/", 1)[0]
        account = authority.split("@", 1)[1] if "@" in authority else ""
        container, _, rest = path.partition("/")
        return f"{scheme}://{container}@{account}/{rest}" if account else f"{scheme}://{path}"
    return f"{scheme}://{path}"


# -- credentials ---------------------------------------------------------------------------------------------


def configure(hadoop_settings: Mapping[str, str]) -> None:
    """Take explicit storage options from Hadoop settings (`fs.s3a.*`, without the `spark.hadoop.` prefix)."""
    s3 = {option: hadoop_settings[key] for key, option in _S3A_TO_STORAGE_OPTION.items() if hadoop_settings.get(key)}
    if (
        s3.get("AWS_ENDPOINT_URL", "").startswith("http://")
        or hadoop_settings.get("fs.s3a.connection.ssl.enabled", "").lower() == "false"
    ):
        s3["AWS_ALLOW_HTTP"] = "true"
    if hadoop_settings.get("fs.s3a.path.style.access", "").lower() == "true":
        s3["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"] = "false"
    if s3.get("AWS_ENDPOINT_URL") and "://" not in s3["AWS_ENDPOINT_URL"]:
        # S3A accepts a bare host; object_store and pyarrow want a URL.
        secure = hadoop_settings.get("fs.s3a.connection.ssl.enabled", "true").lower() != "false"
        s3["AWS_ENDPOINT_URL"] = f"{'https' if secure else 'http'}://{s3['AWS_ENDPOINT_URL']}"
    gcs = {}
    if hadoop_settings.get("google.cloud.auth.service.account.json.keyfile"):
        gcs["GOOGLE_SERVICE_ACCOUNT"] = hadoop_settings["google.cloud.auth.service.account.json.keyfile"]
    azure = {}
    for key, value in hadoop_settings.items():
        account = re.match(r"^fs\.azure\.account\.key\.([^.]+)\.dfs\.core\.windows\.net$", key)
        if account and value:
            azure["AZURE_STORAGE_ACCOUNT_NAME"] = account.group(1)
            azure["AZURE_STORAGE_ACCOUNT_KEY"] = value
    _explicit.clear()
    _explicit.update({S3.name: s3, GCS.name: gcs, AZURE.name: azure})
    _arrow_filesystem.cache_clear()


def configure_from_spark(spark: Any) -> None:
    """`configure` with the session's effective Hadoop settings (spark.hadoop.* from every source), and the
    other way round: an S3 endpoint given only in the environment (a local S3 such as MinIO) reaches S3A too."""
    try:
        hadoop = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
    except Exception:  # Spark Connect and Databricks serverless expose no Hadoop configuration
        return
    keys = [*_S3A_TO_STORAGE_OPTION, "fs.s3a.path.style.access", "fs.s3a.connection.ssl.enabled"]
    keys.append("google.cloud.auth.service.account.json.keyfile")
    settings = {key: hadoop.get(key) for key in keys if hadoop.get(key)}
    # One call for the matching keys (iterating the whole configuration costs a gateway call per entry).
    azure_keys = hadoop.getValByRegex(r"^fs\.azure\.account\.key\..*")
    settings.update({str(key): str(azure_keys[key]) for key in azure_keys})
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and not settings.get("fs.s3a.endpoint"):
        hadoop.set("fs.s3a.endpoint", endpoint)
        hadoop.set("fs.s3a.path.style.access", "true")
    configure(settings)


def storage_options(uri: str) -> dict[str, str] | None:
    """delta-rs storage options for a table at `uri`: explicit ones over the environment's; None for a local
    path (and where nothing is set, so that delta-rs finds the instance's identity itself)."""
    store = store_of(uri)
    if store is None:
        return None
    options: dict[str, str] = {}
    if store is S3:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint and endpoint.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
        # Each commit writes a new log entry with put-if-absent: S3 has had conditional writes since 2024, so
        # concurrent committers cannot overwrite each other without a DynamoDB lock.
        options["AWS_CONDITIONAL_PUT"] = "etag"
    options.update(_explicit.get(store.name, {}))
    return options or None


@lru_cache(maxsize=32)
def _arrow_filesystem(store_name: str, authority: str) -> pafs.FileSystem:
    options = _explicit.get(store_name, {})
    if store_name == S3.name:
        endpoint = options.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_S3")
        endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL")
        kwargs: dict[str, Any] = {}
        if options.get("AWS_ACCESS_KEY_ID"):
            kwargs["access_key"] = options["AWS_ACCESS_KEY_ID"]
            kwargs["secret_key"] = options.get("AWS_SECRET_ACCESS_KEY")
            kwargs["session_token"] = options.get("AWS_SESSION_TOKEN")
        region = options.get("AWS_REGION") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            kwargs["region"] = region
        if endpoint:
            scheme, _, rest = endpoint.partition("://")
            kwargs["endpoint_override"] = rest.rstrip("/") if rest else endpoint
            kwargs["scheme"] = scheme if rest else "https"
            # A custom endpoint (MinIO, moto, Ceph) is addressed by path, as S3A does with path.style.access.
            kwargs["force_virtual_addressing"] = False
        return pafs.S3FileSystem(**kwargs)
    if store_name == GCS.name:
        return pafs.GcsFileSystem()
    account = authority.split("@", 1)[-1].split(".", 1)[0]
    key = options.get("AZURE_STORAGE_ACCOUNT_KEY") if options.get("AZURE_STORAGE_ACCOUNT_NAME") == account else None
    return pafs.AzureFileSystem(account_name=account, account_key=key or os.environ.get("AZURE_STORAGE_ACCOUNT_KEY"))


def s3_client_options() -> dict[str, str]:
    """boto3 client keyword arguments for S3, from the same settings as the pyarrow file system (explicit
    Hadoop-derived options first, then the environment, which boto3 also reads itself)."""
    options = _explicit.get(S3.name, {})
    endpoint = options.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_S3")
    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL")
    region = options.get("AWS_REGION") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    kwargs = {}
    if endpoint:
        kwargs["endpoint_url"] = endpoint if "://" in endpoint else f"https://{endpoint}"
    if region:
        kwargs["region_name"] = region
    if options.get("AWS_ACCESS_KEY_ID"):
        kwargs["aws_access_key_id"] = options["AWS_ACCESS_KEY_ID"]
        kwargs["aws_secret_access_key"] = options.get("AWS_SECRET_ACCESS_KEY", "")
        if options.get("AWS_SESSION_TOKEN"):
            kwargs["aws_session_token"] = options["AWS_SESSION_TOKEN"]
    return kwargs


def arrow_filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """The driver's pyarrow file system for an object-store URI, and the path in it (`bucket/key`)."""
    store = store_of(uri)
    if store is None:
        raise ThresherError(
            f"{uri}: unknown file system scheme {scheme_of(uri)!r}; thresher reads and writes local paths, "
            f"{', '.join(sorted(s + '://' for s in SCHEMES))}"
        )
    authority, _, path = uri.split("://", 1)[1].partition("/")
    if store is AZURE:
        container = authority.split("@", 1)[0]
        return _arrow_filesystem(store.name, authority), f"{container}/{path}".rstrip("/")
    return _arrow_filesystem(store.name, authority), f"{authority}/{path}".rstrip("/")


# -- the Spark half ------------------------------------------------------------------------------------------


def spark_hadoop_version() -> str | None:
    """The Hadoop version of the installed pyspark, from its hadoop-client-api-X.Y.Z.jar."""
    try:
        import pyspark
    except ImportError:
        return None
    for jar in (Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar"):
        return jar.name[len("hadoop-client-api-") : -len(".jar")]
    return None


def missing_filesystem_message(uri: str, store: Store, hadoop_version: str | None) -> str:
    package = store.package.format(hadoop=hadoop_version or "<the Hadoop version of your Spark>")
    how = f"--jars <its URL>  # {package}" if store is GCS else f"--packages {package}"
    return (
        f"{uri}: Spark has no Hadoop file system for {scheme_of(uri)}:// ({store.hadoop_class} is not on the "
        f"classpath): start Spark with {how} (or use the thresher image, which carries it; see the README's "
        "'Object stores')"
    )


def require_spark_filesystems(spark: Any, uris: Iterable[str]) -> None:
    """Refuse, in one line and before any work, URIs whose Hadoop file system this session cannot load; map
    `s3://` (which Hadoop does not know) to S3A when the session has no `s3` file system of its own."""
    try:
        jvm = spark._jvm  # type: ignore[attr-defined]
        hadoop = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
    except Exception:  # Spark Connect: the server's file systems are its own business
        return
    for uri in uris:
        scheme = scheme_of(uri)
        store = SCHEMES.get(scheme) if scheme else None
        if store is None or scheme is None:
            continue
        if _has_filesystem(jvm, hadoop, scheme):
            continue
        if store is S3 and _loads(jvm, store.hadoop_class):
            hadoop.set(f"fs.{scheme}.impl", store.hadoop_class)
            continue
        raise ThresherError(missing_filesystem_message(uri, store, spark_hadoop_version()))


def _has_filesystem(jvm: Any, hadoop: Any, scheme: str) -> bool:
    try:
        jvm.org.apache.hadoop.fs.FileSystem.getFileSystemClass(scheme, hadoop)
        return True
    except Exception:
        return False


def _loads(jvm: Any, class_name: str) -> bool:
    try:
        jvm.java.lang.Thread.currentThread().getContextClassLoader().loadClass(class_name)
        return True
    except Exception:
        return False


# -- secrets -------------------------------------------------------------------------------------------------

_SECRET_KEY = re.compile(r"(secret|password|token|credential|access\.key|account\.key|sas)", re.I)
REDACTED = "<redacted>"


def redact_secrets(config: Any) -> Any:
    """A copy of a resolved config whose credential-like `spark:` settings (fs.s3a.secret.key, ...) are
    replaced: the manifest and the report are read by people who must not get the run's keys."""
    if not isinstance(config, dict) or not isinstance(config.get("spark"), dict):
        return config
    spark = {key: REDACTED if _SECRET_KEY.search(key) else value for key, value in config["spark"].items()}
    return {**config, "spark": spark}


def redact_arguments(arguments: Any) -> Any:
    """A command line whose credential-like `KEY=VALUE` items (`--spark-conf ...secret.key=...`) are redacted."""
    if not isinstance(arguments, list):
        return arguments
    redacted = []
    for item in arguments:
        key, sep, _ = str(item).partition("=")
        redacted.append(f"{key}={REDACTED}" if sep and _SECRET_KEY.search(key) else item)
    return redacted
