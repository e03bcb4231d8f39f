"""Build jobs that live behind an fsspec URL: each job is staged to a local scratch folder, built exactly
as a local job, and the folder is removed (also when the job fails).

The scratch folder is made under ``$TMPDIR`` (node-local disk on a cluster); a 4089² job needs about its
input size (2-3 GB at RAPID) while it is built. On this machine (serial and process executors) the next
jobs are staged while others build (``prefetch``); on a Dask cluster each task stages its own job on its
worker (``process_remote_job``). The job's fingerprint for resume uses the objects' listed metadata (name,
size and ETag or another content marker), never their bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rapid_croissant.config import BuildConfig
from rapid_croissant.errors import JobError
from rapid_croissant.io import remote

log = logging.getLogger(__name__)

#: Objects of one job read at once.
FETCH_THREADS = 4


@dataclass(frozen=True)
class RemoteJob:
    """A job folder behind a URL, with the objects listed when the build started (picklable)."""

    url: str  # protocol://path of the job prefix
    path: str  # the filesystem's path of the prefix (no protocol)
    objects: tuple[remote.RemoteObject, ...]
    error: str = ""  # why the job's objects could not be listed

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def nbytes(self) -> int:
        return sum(max(o.size, 0) for o in self.objects)


def _fs(cfg: BuildConfig):
    return remote.filesystem(str(cfg.input_dir), cfg.storage_options, cfg.anon)


def discover_remote_jobs(cfg: BuildConfig) -> list[RemoteJob]:
    """The ``jid<N>`` jobs under ``cfg.input_dir`` (a URL), each with its object listing."""
    fs, root = _fs(cfg)
    url = str(cfg.input_dir)
    base = url.rstrip("/")
    jobs = []
    for path in remote.list_jobs(fs, root, url):
        jid = path.rstrip("/").rsplit("/", 1)[-1]
        objects, error = (), ""
        try:
            objects = tuple(remote.list_objects(fs, path))
        except JobError as err:
            error = str(err)
        jobs.append(RemoteJob(f"{base}/{jid}", path, objects, error))
    log.info("%s: %d jobs, %.2f GB", url, len(jobs), sum(j.nbytes for j in jobs) / 1e9)
    return jobs


def remote_fingerprint(job: RemoteJob, cfg: BuildConfig) -> str:
    """Hash of the science options and of every object's name, size and ETag (as listed)."""
    h = hashlib.sha256(json.dumps(cfg.science_dict(), sort_keys=True).encode())
    for o in job.objects:
        h.update(f"{o.name}:{o.size}:{o.version}\n".encode())
    return h.hexdigest()


def make_scratch(job: RemoteJob) -> Path:
    """A new scratch folder for ``job`` under ``$TMPDIR`` (``rapid-croissant-<jid>-*``)."""
    return Path(tempfile.mkdtemp(prefix=f"rapid-croissant-{job.name}-"))


def stage(job: RemoteJob, cfg: BuildConfig, scratch: Path, stop: threading.Event | None = None) -> Path:
    """Copy the job's listed objects into ``scratch/<jid>/``; JobError naming the job and object.

    ``stop`` set: the objects not started yet are not read (their job is being abandoned)."""
    if job.error:
        raise JobError(job.name, None, job.error.split(": ", 1)[-1])
    if not job.objects:
        raise JobError(job.name, None, f"no objects a build reads under {job.url}")
    fs, _ = _fs(cfg)
    dest = scratch / job.name
    dest.mkdir()
    t0 = time.perf_counter()

    def fetch(obj: remote.RemoteObject) -> None:
        if stop is None or not stop.is_set():
            remote.fetch_object(fs, job.path, obj, dest)

    # a few objects at once (an object store's latency, not its bandwidth, limits one stream), largest
    # first so that the last one does not start alone
    largest_first = sorted(job.objects, key=lambda o: -o.size)
    with ThreadPoolExecutor(max_workers=FETCH_THREADS, thread_name_prefix=f"fetch-{job.name}") as pool:
        for fut in [pool.submit(fetch, obj) for obj in largest_first]:
            fut.result()  # the first failure (a JobError naming the object) is raised
    if stop is not None and stop.is_set():
        raise JobError(job.name, None, "staging stopped")
    seconds = time.perf_counter() - t0
    log.debug("%s: staged %.1f MB in %.1f s", job.name, job.nbytes / 1e6, seconds)
    return dest


def staging_failed(job: RemoteJob, cfg: BuildConfig, err: JobError, seconds: float):
    """The failed JobResult of a job whose objects could not be staged (its failed part written)."""
    from rapid_croissant.pipeline import parts
    from rapid_croissant.pipeline.job_task import JobResult

    parts.write_failed_job(cfg.output_dir, job.name, str(err))
    return JobResult(job.name, "failed", error=str(err), seconds=seconds)


def process_remote_job(job: RemoteJob, cfg: BuildConfig, fingerprint: str = ""):
    """Stage, build (exactly as a local job) and clean up, all in this task; never raises (as
    ``process_job``). The Dask executor's task: the scratch folder is on the worker's machine."""
    from rapid_croissant.pipeline.job_task import process_job

    t0 = time.perf_counter()
    scratch = make_scratch(job)
    try:
        try:
            local = stage(job, cfg, scratch)
        except JobError as err:
            return staging_failed(job, cfg, err, time.perf_counter() - t0)
        res = process_job(local, cfg, fingerprint)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    res.seconds = time.perf_counter() - t0
    return res
