"""Builds on a real Dask cluster: ``dask scheduler`` and ``dask worker`` as separate processes on 127.0.0.1.

A build through ``--scheduler`` equals the local build, also when one worker is SIGKILLed mid-build (the
job task is idempotent and submitted with retries; the scheduler gives a task up only after
``distributed.scheduler.allowed-failures`` workers died running it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from rapid_croissant.config import BuildConfig
from rapid_croissant.pipeline.pipeline import build_dataset
from scale_fixtures import dask_cluster, digests, package_env

pytest.importorskip("distributed")
pytestmark = pytest.mark.dask


@pytest.fixture(scope="module")
def local_build(sim_2025, tmp_path_factory):
    out = tmp_path_factory.mktemp("cluster_local") / "ds"
    build_dataset(BuildConfig(input_dir=sim_2025, output_dir=out, executor="serial"), progress=False)
    return out


def test_cluster_build_equals_the_local_build(sim_2025, local_build, tmp_path):
    with dask_cluster(2, tmp_path / "logs") as (address, _):
        out = tmp_path / "ds"
        cfg = BuildConfig(input_dir=sim_2025, output_dir=out, executor="dask", scheduler=address)
        summary = build_dataset(cfg, progress=False)
    assert not summary.failed
    a = digests(local_build)
    assert len(a) > 40 and digests(out) == a


def _busy_worker(client) -> str | None:
    """Name of a worker that is running a job right now."""
    info = client.scheduler_info()["workers"]
    for addr, tasks in client.processing().items():
        if tasks and addr in info:
            return info[addr]["name"]
    return None


def test_sigkill_of_a_worker_mid_build_still_gives_the_local_outputs(sim_2025, local_build, tmp_path):
    from distributed import Client

    out = tmp_path / "ds"
    with dask_cluster(2, tmp_path / "logs") as (address, workers), Client(address) as watcher:
        cmd = [sys.executable, "-m", "rapid_croissant.cli.main", "build", "-i", str(sim_2025)]
        cmd += ["-o", str(out), "--executor", "dask", "--scheduler", address]
        build = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=package_env()
        )
        victim, deadline = None, time.monotonic() + 120
        while victim is None and time.monotonic() < deadline and build.poll() is None:
            victim = _busy_worker(watcher)
            time.sleep(0.02)
        assert victim is not None, "no worker ever ran a job"
        proc = workers[int(victim[1:])]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        stdout, stderr = build.communicate(timeout=300)
    assert build.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "from 9 jobs" in stdout
    assert not list(out.rglob(".*.tmp*"))  # what the killed worker was writing is gone
    assert digests(out) == digests(local_build)
