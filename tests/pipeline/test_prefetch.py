"""Remote builds that stage the next jobs while others build (a real moto S3 server on 127.0.0.1): the same
bytes as a local build, a job whose object cannot be read fails alone, and no scratch folder outlives the
build, a failed job or an interrupt."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pandas as pd
import pytest

from rapid_croissant.config import BuildConfig
from rapid_croissant.errors import Interrupted
from rapid_croissant.pipeline import pipeline
from rapid_croissant.pipeline.pipeline import build_dataset
from scale_fixtures import digests, moto_server, upload_tree

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

BUCKET = "prefetch"
JOBS = ("jid1001", "jid1002", "jid1003", "jid1005")  # three normal jobs and one defect job (SFFT failed)
#: The object of jid1002 the bucket policy forbids reading (listed, then denied).
DENIED = "jid1002/diffimage_masked.fits"


@pytest.fixture(scope="module")
def jobs_dir(sim_2025, tmp_path_factory):
    out = tmp_path_factory.mktemp("prefetch_in")
    for jid in JOBS:
        shutil.copytree(sim_2025 / jid, out / jid)
    return out


@pytest.fixture(scope="module")
def s3(jobs_dir):
    """The jobs under s3://prefetch/run/ and under s3://prefetch/denied/ (one object there unreadable)."""
    with moto_server() as (endpoint, client):
        client.create_bucket(Bucket=BUCKET)
        upload_tree(client, BUCKET, "run/", jobs_dir)
        upload_tree(client, BUCKET, "denied/", jobs_dir)
        for k in range(8):  # many copies of one job: a build long enough to be stopped midway
            upload_tree(client, BUCKET, f"many/jid{2001 + k}/", jobs_dir / "jid1001")
        statement = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/denied/{DENIED}",
        }
        policy = {"Version": "2012-10-17", "Statement": [statement]}
        client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
        yield endpoint


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """This test's own $TMPDIR (scratch folders of other processes stay out of it)."""
    path = tmp_path / "scratch"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


def _cfg(prefix: str, out, endpoint: str, executor: str) -> BuildConfig:
    return BuildConfig(
        input_dir=f"s3://{BUCKET}/{prefix}/",
        output_dir=out,
        executor=executor,
        workers=1 if executor == "serial" else 2,
        storage_options={"endpoint_url": endpoint},
    )


class _Watch:
    """Counts the scratch folders on disk every few ms while a build runs (the prefetch bound)."""

    def __init__(self, folder):
        self.folder, self.most, self._stop = folder, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.005):
            self.most = max(self.most, sum(1 for _ in self.folder.iterdir()))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def test_a_process_pool_build_equals_the_local_build(s3, jobs_dir, scratch, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "remote"
    build_dataset(BuildConfig(input_dir=jobs_dir, output_dir=local, executor="serial"), progress=False)
    with _Watch(scratch) as watch:
        summary = build_dataset(_cfg("run", remote, s3, "process"), progress=False)
    assert sorted(r.jid for r in summary.results) == list(JOBS) and not summary.failed
    a = digests(local)
    assert len(a) > 20 and a == digests(remote)
    assert 1 <= watch.most <= 3  # 2 workers: at most 3 jobs staged on disk at once
    assert not list(scratch.iterdir())


@pytest.mark.parametrize("executor", ["serial", "process"])
def test_an_unreadable_object_fails_only_its_job(s3, scratch, tmp_path, executor):
    out = tmp_path / "ds"
    with _Watch(scratch) as watch:
        summary = build_dataset(_cfg("denied", out, s3, executor), progress=False)
    (failed,) = summary.failed
    assert failed.jid == "jid1002"
    assert failed.error.startswith(f"{DENIED}: cannot read the object: access denied")
    assert {r.jid for r in summary.results if r.status in ("ok", "partial")} == set(JOBS) - {"jid1002"}
    jobs = pd.read_csv(out / "jobs.csv").set_index("jid")
    assert jobs.loc["jid1002", "status"] == "failed" and "access denied" in jobs.loc["jid1002", "error"]
    assert (jobs.drop(index="jid1002")["status"] != "failed").all()
    assert watch.most <= (2 if executor == "serial" else 3)
    assert not list(scratch.iterdir())  # also the failed job's folder


@pytest.mark.parametrize("executor", ["serial", "process"])
def test_an_interrupt_removes_every_scratch_folder(s3, scratch, tmp_path, monkeypatch, executor):
    """Ctrl-C as the first job finishes: the next job is staged (or staging) then, and on a pool another
    one is building; every folder is gone when the build has stopped, and the same command resumes."""
    seen = []
    log_result = pipeline._log_result

    def interrupt_after_the_first(res):
        log_result(res)
        seen.append(sorted(p.name.split("-")[2] for p in scratch.iterdir()))
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_log_result", interrupt_after_the_first)
    out = tmp_path / "ds"
    with pytest.raises(Interrupted, match="interrupted .* after 1 of 4 job"):
        build_dataset(_cfg("run", out, s3, executor), progress=False)
    assert len(seen) == 1 and seen[0]  # a later job was staged ahead when the interrupt came
    assert not list(scratch.iterdir())
    monkeypatch.setattr(pipeline, "_log_result", log_result)
    again = build_dataset(_cfg("run", out, s3, executor), progress=False)
    assert not again.failed and "skipped" in {r.status for r in again.results}
    assert not list(scratch.iterdir())


def test_sigterm_removes_every_scratch_folder(s3, tmp_path):
    """A real `rapid-croissant build` process stopped by SIGTERM midway: exit 130, no scratch folder left."""
    scratch, out = tmp_path / "scratch", tmp_path / "ds"
    scratch.mkdir()
    opts = json.dumps({"endpoint_url": s3})
    cmd = [sys.executable, "-m", "rapid_croissant.cli.main", "build", "-i", f"s3://{BUCKET}/many/"]
    cmd += ["-o", str(out), "--storage-options", opts, "--workers", "1", "--no-full-images"]
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not list(out.glob(".parts/*.job.json")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not list(scratch.iterdir())
