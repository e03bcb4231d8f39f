"""Builds from a real S3 server (moto's server mode on 127.0.0.1): byte-identical to local builds, resumable
by ETag, and every storage failure is one clear line naming the job and the object."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rapid_croissant.config import BuildConfig
from rapid_croissant.pipeline import staging
from rapid_croissant.pipeline.pipeline import build_dataset
from scale_fixtures import aws_env, digests, free_port, moto_server, upload_tree, wait_for_port

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

BUCKET = "rapid-product-files"


@pytest.fixture(scope="module")
def s3(sim_2025, sim_2026):
    """A moto S3 server holding both eras (with the defect jobs and the clutter) under two prefixes."""
    with moto_server() as (endpoint, client):
        client.create_bucket(Bucket=BUCKET)
        upload_tree(client, BUCKET, "20250927/", sim_2025)
        upload_tree(client, BUCKET, "20260101/", sim_2026)
        yield endpoint, client


def _cfg(url, out, endpoint, **kw) -> BuildConfig:
    return BuildConfig(
        input_dir=url, output_dir=out, executor="serial", storage_options={"endpoint_url": endpoint}, **kw
    )


def _cli(*args, env_extra=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    cmd = [sys.executable, "-m", "rapid_croissant.cli.main", "build", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("era", ["2025", "2026"])
def test_s3_build_equals_the_local_build(s3, sim_2025, sim_2026, tmp_path, era):
    endpoint, _ = s3
    local_in, prefix = (sim_2025, "20250927") if era == "2025" else (sim_2026, "20260101")
    local = tmp_path / "local"
    build_dataset(BuildConfig(input_dir=local_in, output_dir=local, executor="serial"), progress=False)
    remote = tmp_path / "remote"
    summary = build_dataset(_cfg(f"s3://{BUCKET}/{prefix}/", remote, endpoint), progress=False)
    a, b = digests(local), digests(remote)
    assert len(a) > 20 and a == b
    # the same jobs, found on their own (jid_backup_old/, calibration/, jid_list.txt are not jobs)
    assert sorted(r.jid for r in summary.results) == sorted(p.name for p in local_in.glob("jid[0-9]*"))
    info = json.loads((remote / "build_info.json").read_text())
    assert info["config"]["input_dir"] == f"s3://{BUCKET}/{prefix}/"


def test_resume_uses_the_etag(s3, sim_2026, tmp_path):
    endpoint, client = s3
    url = f"s3://{BUCKET}/20260101/"
    out = tmp_path / "ds"
    cfg = _cfg(url, out, endpoint)
    jobs = staging.discover_remote_jobs(cfg)
    assert all(o.version for j in jobs for o in j.objects)  # every object has its ETag
    build_dataset(cfg, progress=False)
    again = build_dataset(cfg, progress=False)
    assert {r.status for r in again.results} == {"skipped"}
    before = {j.name: staging.remote_fingerprint(j, cfg) for j in jobs}
    # same size, other bytes: only the ETag tells the object changed
    first = jobs[0]
    obj = next(o for o in first.objects if o.name.endswith("_inject.txt"))
    key = f"20260101/{first.name}/{obj.name}"
    body = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    client.put_object(Bucket=BUCKET, Key=key, Body=body[:-2] + b" \n")
    try:
        after = {j.name: staging.remote_fingerprint(j, cfg) for j in staging.discover_remote_jobs(cfg)}
        assert [k for k in before if before[k] != after[k]] == [first.name]
    finally:
        client.put_object(Bucket=BUCKET, Key=key, Body=body)


def test_missing_object_names_the_job_and_object(s3, sim_2025, tmp_path):
    endpoint, client = s3
    job = sorted(sim_2025.glob("jid[0-9]*"))[0]
    upload_tree(client, BUCKET, "missing/", job.parent, only=[job.name])
    client.delete_object(Bucket=BUCKET, Key=f"missing/{job.name}/diffimage_masked.fits")
    # listed, then gone before the job read it
    cfg = _cfg(f"s3://{BUCKET}/missing/", tmp_path / "ds", endpoint)
    (ref,) = staging.discover_remote_jobs(cfg)
    client.delete_object(Bucket=BUCKET, Key=f"missing/{job.name}/scorrimage_masked.fits")
    res = staging.process_remote_job(ref, cfg)
    assert res.status == "failed"
    assert res.error.startswith(f"{job.name}/scorrimage_masked.fits: cannot read the object: not found")
    # absent when listed: the job is built from SFFT alone, and says which object was missing
    scratch = tmp_path / "scratch"  # the build's own $TMPDIR: other processes' scratch folders stay out
    scratch.mkdir()
    run = _cli(
        "-i",
        f"s3://{BUCKET}/missing/",
        "-o",
        str(tmp_path / "cli"),
        *_opts(endpoint),
        env_extra={"TMPDIR": str(scratch)},
    )
    assert run.returncode == 0, run.stderr
    assert f"partial {job.name}:" in run.stderr and "Traceback" not in run.stderr
    assert not list(scratch.glob(f"rapid-croissant-{job.name}-*"))  # scratch removed


def _opts(endpoint: str) -> list[str]:
    return ["--storage-options", json.dumps({"endpoint_url": endpoint}), "--workers", "1"]


def test_denied_bucket_names_the_job_and_object(s3, sim_2025, tmp_path):
    endpoint, client = s3
    client.create_bucket(Bucket="denied")
    upload_tree(client, "denied", "run/", sim_2025, only=["jid1001", "jid1002"])
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::denied/*",
            }
        ],
    }
    client.put_bucket_policy(Bucket="denied", Policy=json.dumps(policy))
    out = tmp_path / "ds"
    run = _cli("-i", "s3://denied/run/", "-o", str(out), *_opts(endpoint))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    for jid in ("jid1001", "jid1002"):
        assert f"FAILED {jid}: {jid}/" in run.stderr and "access denied (Forbidden)" in run.stderr
    jobs = (out / "jobs.csv").read_text()
    assert jobs.count("failed") == 2 and "access denied" in jobs


def test_missing_bucket_and_unreachable_endpoint_are_one_line(s3, tmp_path):
    endpoint, _ = s3
    run = _cli("-i", "s3://no-such-bucket/run/", "-o", str(tmp_path / "a"), *_opts(endpoint))
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        "error: cannot list s3://no-such-bucket/run/: not found (no such bucket, prefix or object)"
    )
    fast = {"endpoint_url": "http://127.0.0.1:9", "config_kwargs": {"retries": {"max_attempts": 1}}}
    run = _cli(
        "-i", f"s3://{BUCKET}/20250927/", "-o", str(tmp_path / "b"), "--storage-options", json.dumps(fast)
    )
    assert run.returncode == 1 and "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot list s3://{BUCKET}/20250927/: EndpointConnectionError")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing written


def test_endpoint_gone_mid_build_names_the_job_and_object(sim_2026, tmp_path):
    with moto_server() as (endpoint, client):
        client.create_bucket(Bucket="brief")
        upload_tree(client, "brief", "run/", sim_2026, only=["jid1001"])
        cfg = BuildConfig(
            input_dir="s3://brief/run/",
            output_dir=tmp_path / "ds",
            executor="serial",
            storage_options={"endpoint_url": endpoint, "config_kwargs": {"retries": {"max_attempts": 1}}},
        )
        (ref,) = staging.discover_remote_jobs(cfg)
    with aws_env():  # the credentials are still there: only the endpoint is gone
        res = staging.process_remote_job(ref, cfg)  # the server is stopped now
    assert res.status == "failed"
    named = res.error.split(": ", 1)[0]
    assert named in {f"jid1001/{o.name}" for o in ref.objects}
    assert res.error.startswith(f"{named}: cannot read the object: ")
    assert "Could not connect" in res.error or "Connect" in res.error


def test_http_build_equals_the_local_build(sim_2026, tmp_path):
    """https:// (here http://) where the server lists folders: Python's http.server as a separate process."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(sim_2026)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        local, remote = tmp_path / "local", tmp_path / "remote"
        build_dataset(BuildConfig(input_dir=sim_2026, output_dir=local, executor="serial"), progress=False)
        wait_for_port(port)
        run = _cli("-i", f"http://127.0.0.1:{port}/", "-o", str(remote), "--workers", "1")
        assert run.returncode == 0, run.stderr
    finally:
        server.terminate()
        server.wait()
    assert digests(remote) == digests(local)


def test_s3_cutout_profile_build_equals_the_local_build(s3, sim_2025, tmp_path):
    """A staged job writes its cutouts to parts (its planes are gone when the store is written); the store
    made from them is the local build's, and the parts are removed."""
    endpoint, _ = s3
    local, remote = tmp_path / "local", tmp_path / "remote"
    cfg = BuildConfig(input_dir=sim_2025, output_dir=local, executor="serial", profile="cutouts")
    build_dataset(cfg, progress=False)
    build_dataset(_cfg(f"s3://{BUCKET}/20250927/", remote, endpoint, profile="cutouts"), progress=False)
    a, b = digests(local), digests(remote)
    assert sum(k.startswith("cutouts/") for k in a) == 20 and a == b
    assert not list((remote / ".parts").glob("*cutouts*"))
