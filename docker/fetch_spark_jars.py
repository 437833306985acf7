"""Put the object-store file systems and Delta Lake into the image's Spark, at build time (pinned).

    python docker/fetch_spark_jars.py HADOOP_VERSION DELTA_SPARK_VERSION GCS_CONNECTOR_VERSION

* hadoop-aws (s3a://, and s3:// mapped to it by thresher) and hadoop-azure (abfss://) of exactly the Hadoop
  version pip's pyspark carries (its hadoop-client-api-X.Y.Z.jar); the build fails when the pins disagree;
* Delta Lake (delta-spark for this Spark's major.minor, Scala 2.13), so that tables are written by delta-spark;
* the GCS connector (gs://), its shaded jar.

Spark's own Ivy resolves the Maven coordinates, so the dependencies (the AWS SDK bundle hadoop-aws was built
with, delta-storage, ...) are the versions those artifacts' poms pin. Jars Spark already has are not copied
again.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

MAVEN = "https://repo1.maven.org/maven2"


def spark_jars() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def hadoop_version(jars: Path) -> str:
    found = [j.name for j in jars.glob("hadoop-client-api-*.jar")]
    if len(found) != 1:
        raise SystemExit(f"expected one hadoop-client-api jar in {jars}, found {found}")
    return found[0][len("hadoop-client-api-") : -len(".jar")]


def packages(hadoop: str, delta: str) -> list[str]:
    import pyspark

    major, minor = pyspark.__version__.split(".")[:2]
    return [
        f"org.apache.hadoop:hadoop-aws:{hadoop}",
        f"org.apache.hadoop:hadoop-azure:{hadoop}",
        f"io.delta:delta-spark_{major}.{minor}_2.13:{delta}",
    ]


def _artifact(jar_name: str) -> str:
    """`aws-sdk-bundle-2.29.52.jar` -> `aws-sdk-bundle`: the name without its version."""
    return re.sub(r"-\d[\w.-]*\.jar$", "", jar_name)


def ivy_jar_name(name: str) -> str:
    """Ivy names a jar `<group>_<artifact>-<version>.jar`; Spark's own jars are `<artifact>-<version>.jar`."""
    group, sep, rest = name.partition("_")
    return rest if sep and "." in group else name


def resolve(coordinates: list[str], into: Path) -> list[Path]:
    from pyspark.sql import SparkSession

    with tempfile.TemporaryDirectory() as ivy:
        spark = (
            SparkSession.builder.master("local[1]")
            .config("spark.jars.packages", ",".join(coordinates))
            .config("spark.jars.ivy", ivy)
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
        spark.stop()
        present = {_artifact(j.name) for j in into.glob("*.jar")}
        copied = []
        for jar in sorted((Path(ivy) / "jars").glob("*.jar")):
            name = ivy_jar_name(jar.name)
            if _artifact(name) in present:
                continue
            target = into / name
            shutil.copy(jar, target)
            copied.append(target)
        return copied


def download_gcs_connector(version: str, into: Path) -> Path:
    name = f"gcs-connector-{version}-shaded.jar"
    target = into / name
    with urllib.request.urlopen(f"{MAVEN}/com/google/cloud/bigdataoss/gcs-connector/{version}/{name}") as response:
        target.write_bytes(response.read())
    return target


# With the Delta jars in the image, every session uses delta-spark: these are read by sessions started in the
# container (SPARK_HOME/conf), and the entrypoint passes them to spark-submit, whose --properties-file would
# otherwise replace this file.
DELTA_SESSION_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def write_spark_defaults(spark_home: Path) -> Path:
    target = spark_home / "conf" / "spark-defaults.conf"
    target.parent.mkdir(exist_ok=True)
    target.write_text("".join(f"{key} {value}\n" for key, value in DELTA_SESSION_CONF.items()))
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        raise SystemExit(__doc__)
    hadoop, delta, gcs = argv
    jars = spark_jars()
    installed = hadoop_version(jars)
    if hadoop != installed:
        raise SystemExit(f"HADOOP_VERSION={hadoop} but pyspark carries Hadoop {installed}: set the Dockerfile's pin")
    copied = [*resolve(packages(hadoop, delta), jars), download_gcs_connector(gcs, jars)]
    for jar in copied:
        print(f"added {jar.name}")
    print(f"wrote {write_spark_defaults(jars.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
