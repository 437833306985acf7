"""The images' entrypoint (docker/entrypoint.sh) run here as it runs in the containers, with the pyspark of this
venv standing in for the image's: its master and worker roles form a cluster, its submit and driver roles run the
job (the executor role needs a Kubernetes pod's variables: only its syntax is checked, in tests/unit)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.e2e.standalone import StandaloneCluster

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ENTRYPOINT = str(PROJECT_ROOT / "docker" / "entrypoint.sh")
JOB = str(PROJECT_ROOT / "jobs" / "thresher_job.py")


class EntrypointCluster(StandaloneCluster):
    """Master and workers started through the entrypoint's roles, configured by environment as in compose.yaml."""

    def env(self) -> dict[str, str]:
        env = super().env()
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    def master_command(self, webui_port: int) -> tuple[list[str], dict[str, str]]:
        return [ENTRYPOINT, "master"], {
            "SPARK_MASTER_HOST": "127.0.0.1",
            "SPARK_MASTER_PORT": str(self.master_port),
            "SPARK_MASTER_WEBUI_PORT": str(webui_port),
        }

    def worker_command(self, work_dir: Path, webui_port: int) -> tuple[list[str], dict[str, str]]:
        return [ENTRYPOINT, "worker", "--work-dir", str(work_dir)], {
            "SPARK_MASTER_URL": self.url,
            "SPARK_WORKER_CORES": "1",
            "SPARK_WORKER_MEMORY": "512m",
            "SPARK_WORKER_WEBUI_PORT": str(webui_port),
        }


def _entrypoint(args: list[str], env: dict[str, str]) -> str:
    """Run a role of the entrypoint to its end; its standard output."""
    result = subprocess.run(
        [ENTRYPOINT, *args], env=env, capture_output=True, text=True, timeout=300, start_new_session=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_entrypoint_roles_form_a_cluster_and_submit_the_job(tmp_path):
    cluster = EntrypointCluster(tmp_path / "cluster", workers=1)
    try:
        cluster.start()
        assert cluster.alive_workers() == 1
        submitted = _entrypoint(
            ["submit", "stages", "minhash_dedup"],
            {
                **cluster.env(),
                "SPARK_MASTER_URL": cluster.url,
                "SPARK_PROPERTIES_FILE": str(PROJECT_ROOT / "conf" / "cluster" / "spark-defaults.conf"),
                "THRESHER_JOB": JOB,
                "THRESHER_SUBMIT_ARGS": "--conf spark.driver.memory=512m",
            },
        )
        assert "minhash_dedup (global)" in submitted
        # The driver role of Kubernetes pods: spark-submit in client mode with the arguments Spark gives the pod.
        assert "length (row)" in _entrypoint(["driver", "--master", "local[1]", JOB, "stages"], cluster.env())
    finally:
        cluster.stop()
        stray = cluster.stray()
        cluster.kill_stray()
        assert not stray, f"processes outlived the cluster: {stray}"
