"""Bounded resources: worker caps with a message, Dask memory limits, pool workers die with their parent."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

from rapid_croissant.pipeline import resources


def test_workers_are_capped_by_memory_with_a_message(caplog):
    with caplog.at_level(logging.WARNING, logger="rapid_croissant.pipeline.resources"):
        n = resources.cap_workers(64, 2 * 2**30, memory=5 * 2**30)
    assert n == min(2, resources.usable_cores())
    assert "64 workers asked" in caplog.text and "available memory holds 2 job(s)" in caplog.text


def test_workers_are_capped_by_cores(caplog):
    with caplog.at_level(logging.WARNING, logger="rapid_croissant.pipeline.resources"):
        n = resources.cap_workers(10_000, 1, memory=2**50)
    assert n == resources.usable_cores() and "usable cores" in caplog.text


def test_a_request_that_fits_is_kept_silently(caplog):
    with caplog.at_level(logging.WARNING):
        assert resources.cap_workers(1, 1, memory=2**40) == 1
    assert not caplog.text


def test_a_4089_square_job_needs_about_half_a_gigabyte():
    assert 0.4 * 2**30 < resources.job_memory(4089, 4089) < 1.0 * 2**30


def test_dask_worker_memory_shares_the_available_memory():
    assert resources.worker_memory_limit(4, memory=8 * 2**30) == int(0.9 * 8 * 2**30) // 4


PARENT = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
from rapid_croissant.pipeline.resources import die_with_parent
pool = ProcessPoolExecutor(1, initializer=die_with_parent, initargs=(os.getpid(),))
print(pool.submit(os.getpid).result(), flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (dead, not yet reaped by init) counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def test_pool_workers_exit_when_the_parent_is_killed():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, env=env)
    try:
        worker = int(parent.stdout.readline())
        assert _alive(worker)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker), "the orphaned pool worker kept running"
    finally:
        parent.stdout.close()
        if parent.poll() is None:
            parent.kill()
