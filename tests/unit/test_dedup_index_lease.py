"""The dedup index's lease (one updating run at a time) and the stages' index parameters, without Spark."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
from pydantic import ValidationError

from thresher.dedup.index import IndexBusyError, IndexLease, minhash_settings
from thresher.stages.exact_dedup import ExactDedupParams
from thresher.stages.minhash_dedup import MinHashDedupParams


def test_one_run_holds_the_lease_until_it_releases_it(tmp_path):
    lease = IndexLease(str(tmp_path / "index"))
    lease.acquire("run-a", "/out/a")
    lease.acquire("run-a")  # a resume of the same run takes it again
    assert lease.holder()["run_id"] == "run-a"
    with pytest.raises(IndexBusyError, match=r"being updated by run 'run-a'.*delete .*_thresher_lease.json"):
        lease.acquire("run-b")
    lease.release("run-b")  # not its lease: nothing happens
    assert lease.holder()["run_id"] == "run-a"
    lease.release("run-a")
    assert lease.holder() is None
    lease.acquire("run-b")
    assert lease.holder()["run_id"] == "run-b"


def test_the_lease_of_a_dead_process_on_this_host_is_taken_over(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lease = IndexLease(str(tmp_path / "index"))
    (tmp_path / "index").mkdir()
    dead = {"run_id": "crashed", "host": socket.gethostname(), "pid": int(finished.stdout), "since": "earlier"}
    (tmp_path / "index" / "_thresher_lease.json").write_text(json.dumps(dead))
    lease.acquire("run-b")
    assert lease.holder()["run_id"] == "run-b"
    elsewhere = {**dead, "host": "another-host"}
    (tmp_path / "index" / "_thresher_lease.json").write_text(json.dumps(elsewhere))
    with pytest.raises(IndexBusyError, match="host another-host"):
        lease.acquire("run-c")


def test_index_parameters():
    assert ExactDedupParams(index="/idx").updates_index
    assert not ExactDedupParams(index="/idx", update_index=False).updates_index
    assert not ExactDedupParams().updates_index
    with pytest.raises(ValidationError, match="update_index needs index"):
        MinHashDedupParams(update_index=True)
    assert minhash_settings({"bands": 14}, "exact") == {"bands": 14, "sketch": "shingle_set"}
    assert minhash_settings({"bands": 14}, "none")["sketch"] == "none"
