"""A Spark standalone cluster on 127.0.0.1 made of real processes from the pyspark installation: one master and
N workers, each in its own process group (a worker's executors and their Python workers join its group), so
that a test can SIGKILL one worker with everything it runs, and tear all of it down afterwards.

Every process started here, and every process they start, carries a marker in its environment; `stray()` finds
any that outlived `stop()`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).parent
MARKER_VARIABLE = "THRESHER_TEST_CLUSTER"
# Start-up time matters more than peak speed for these short-lived JVMs.
FAST_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url: str) -> dict | list:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@dataclass
class Daemon:
    name: str
    process: subprocess.Popen
    log: Path
    webui_port: int

    def json(self, path: str = "/json/") -> dict | list:
        return _get_json(f"http://127.0.0.1:{self.webui_port}{path}")

    def processes(self) -> list[tuple[int, str]]:
        """(pid, command line) of every live process in this daemon's process group."""
        return [(pid, cmd) for pid, cmd, _ in _processes() if _pgid(pid) == self.process.pid]

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(text.splitlines()[-lines:])


@dataclass
class StandaloneCluster:
    root: Path
    workers: int = 2
    worker_cores: int = 1
    worker_memory: str = "1g"
    marker: str = field(default_factory=lambda: uuid.uuid4().hex)
    master: Daemon | None = None
    worker_daemons: list[Daemon] = field(default_factory=list)
    master_port: int = 0

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.master_port}"

    def env(self) -> dict[str, str]:
        """Environment for the daemons and for spark-submit: loopback only, logs and work dirs under root."""
        env = dict(os.environ)
        env.update(
            {
                MARKER_VARIABLE: self.marker,
                "SPARK_HOME": str(SPARK_HOME),
                "SPARK_LOCAL_IP": "127.0.0.1",
                "SPARK_LOCAL_HOSTNAME": "127.0.0.1",
                "SPARK_CONF_DIR": str(self.root / "conf"),
                "SPARK_LOG_DIR": str(self.root / "logs"),
                "SPARK_DAEMON_MEMORY": "256m",
                # A dead worker is declared lost after 10 s instead of 60 s (workers heartbeat every timeout / 4,
                # so master and workers must agree on it).
                "SPARK_DAEMON_JAVA_OPTS": f"{FAST_JVM} -Dspark.worker.timeout=10",
            }
        )
        env.pop("PYSPARK_GATEWAY_PORT", None)
        env.pop("PYSPARK_GATEWAY_SECRET", None)
        return env

    def start(self, timeout: float = 90.0) -> None:
        (self.root / "conf").mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        (self.root / "conf" / "log4j2.properties").write_text(
            "rootLogger.level = warn\nrootLogger.appenderRef.stdout.ref = console\n"
            "appender.console.type = Console\nappender.console.name = console\n"
            "appender.console.layout.type = PatternLayout\n"
            "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n\n"
        )
        self.master_port = free_port()
        webui_port = free_port()
        self.master = self._spawn("master", webui_port, *self.master_command(webui_port))
        self._wait(lambda: self.master.json() is not None, timeout, "the master to answer")
        for index in range(self.workers):
            work_dir = self.root / f"worker-{index}"
            work_dir.mkdir()
            webui_port = free_port()
            worker = self._spawn(f"worker-{index}", webui_port, *self.worker_command(work_dir, webui_port))
            self.worker_daemons.append(worker)
        self._wait(lambda: self.alive_workers() == self.workers, timeout, f"{self.workers} workers to register")

    def master_command(self, webui_port: int) -> tuple[list[str], dict[str, str]]:
        """(command, extra environment) of the master; a subclass may launch it another way."""
        command = [
            str(SPARK_HOME / "bin" / "spark-class"),
            "org.apache.spark.deploy.master.Master",
            *("--host", "127.0.0.1", "--port", str(self.master_port), "--webui-port", str(webui_port)),
        ]
        return command, {}

    def worker_command(self, work_dir: Path, webui_port: int) -> tuple[list[str], dict[str, str]]:
        command = [
            str(SPARK_HOME / "bin" / "spark-class"),
            "org.apache.spark.deploy.worker.Worker",
            *("--host", "127.0.0.1", "--port", str(free_port()), "--webui-port", str(webui_port)),
            *("--cores", str(self.worker_cores), "--memory", self.worker_memory, "--work-dir", str(work_dir)),
            self.url,
        ]
        return command, {}

    def _spawn(self, name: str, webui_port: int, command: list[str], extra_env: dict[str, str]) -> Daemon:
        log = self.root / "logs" / f"{name}.out"
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                env={**self.env(), **extra_env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return Daemon(name, process, log, webui_port)

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for daemon in self.daemons():
                if daemon.process.poll() is not None:
                    raise RuntimeError(f"{daemon.name} exited with {daemon.process.returncode}\n{self.logs()}")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}\n{self.logs()}")

    def daemons(self) -> list[Daemon]:
        return ([self.master] if self.master else []) + self.worker_daemons

    def alive_workers(self) -> int:
        assert self.master is not None
        state = self.master.json()
        return sum(1 for w in state["workers"] if w["state"] == "ALIVE")

    def worker_running(self, executor_ids: set[str]) -> Daemon | None:
        """The live worker that hosts one of these executors (ids as the driver reports them)."""
        for daemon in self.worker_daemons:
            if daemon.process.poll() is not None:
                continue
            try:
                executors = daemon.json()["executors"]
            except OSError:
                continue
            if any(str(e["id"]) in executor_ids for e in executors):
                return daemon
        return None

    def kill(self, daemon: Daemon) -> list[tuple[int, str]]:
        """SIGKILL a daemon's whole process group (a worker with its executor JVM and Python workers)."""
        victims = daemon.processes()
        os.killpg(daemon.process.pid, signal.SIGKILL)
        daemon.process.wait(timeout=30)
        return victims

    def logs(self) -> str:
        return "\n".join(d.log_tail() for d in self.daemons())

    def stop(self) -> None:
        """Stop every daemon's process group: SIGTERM, then SIGKILL what is left after a grace period."""
        groups = [d.process.pid for d in self.daemons()]
        for group in groups:
            _signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            # Reap the group leaders that exited: an unreaped (zombie) leader keeps its group "alive".
            for daemon in self.daemons():
                daemon.process.poll()
            if not any(_group_alive(g) for g in groups):
                break
            time.sleep(0.2)
        for group in groups:
            _signal_group(group, signal.SIGKILL)
        for daemon in self.daemons():
            daemon.process.wait(timeout=30)

    def stray(self) -> list[tuple[int, str]]:
        """Processes still alive that were started by this cluster or by jobs submitted to it."""
        return [(pid, cmd) for pid, cmd, marker in _processes() if marker == self.marker]

    def kill_stray(self) -> None:
        for pid, _ in self.stray():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, sig)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _processes() -> list[tuple[int, str, str | None]]:
    """(pid, command line, value of the marker variable) of every process we may inspect."""
    found = []
    prefix = f"{MARKER_VARIABLE}=".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        marker = next((v[len(prefix) :].decode() for v in environ if v.startswith(prefix)), None)
        found.append((int(entry.name), cmdline, marker))
    return found


@dataclass
class Submission:
    """A job started with spark-submit in its own process group, its output (driver log) going to `log`."""

    process: subprocess.Popen
    log: Path
    ui_port: int

    @classmethod
    def start(cls, env: dict[str, str], args: list[str], log: Path, cwd: Path) -> Submission:
        ui_port = free_port()
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(SPARK_HOME / "bin" / "spark-submit"), "--conf", f"spark.ui.port={ui_port}", *args],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return cls(process, log, ui_port)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_output(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"the job ended ({self.process.returncode}) before {text!r}:\n{self.output()}")
            time.sleep(0.1)
        raise TimeoutError(f"no {text!r} in the driver log after {timeout:.0f} s:\n{self.output()[-5000:]}")

    def busy_executors(self) -> set[str]:
        """Ids of the executors running a task now, from the driver's status API."""
        base = f"http://127.0.0.1:{self.ui_port}/api/v1/applications"
        try:
            apps = _get_json(base)
            executors = _get_json(f"{base}/{apps[0]['id']}/executors")
        except (OSError, IndexError, KeyError):
            return set()
        return {e["id"] for e in executors if e["id"] != "driver" and e["activeTasks"] > 0}

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.stop()

    def stop(self) -> None:
        _signal_group(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
