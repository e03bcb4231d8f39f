"""Remote jobs built on this machine: the next jobs are staged while others build.

A stager process stages one job at a time (``staging.stage``, a few objects at once) into its scratch
folder under ``$TMPDIR``: a process, not a thread, because a serial build runs in this process and the
fetch threads' Python work (HTTP parsing) would hold its GIL (measured: a cutouts job took 1.4-1.7 s
beside a staging thread, 1.1-1.2 s beside the stager process, 0.6 s alone). A staged job is built as a
local one, in this process (serial) or on a worker of the process pool, and its folder is removed as soon
as its task has finished, ok or failed. At most ``workers + 1`` jobs are on local disk at once (those
building, and the next one staging or staged): a 4089² RAPID job is 2-3 GB, so 2 workers need up to
~9 GB of ``$TMPDIR``.

Failures are those of a job staged inside its task: an object that cannot be read fails that job only
(JobError naming the job and the object, ``failed`` in jobs.csv) and the others go on. On an interrupt or
any error every scratch folder made is removed (after the builds still running on the workers stopped).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from rapid_croissant.config import BuildConfig
from rapid_croissant.errors import Interrupted, JobError
from rapid_croissant.pipeline import resources
from rapid_croissant.pipeline.job_task import JobResult, process_job
from rapid_croissant.pipeline.staging import RemoteJob, make_scratch, stage, staging_failed

log = logging.getLogger(__name__)

_STOP = None  # the stager process's stop event (set: the job staging is abandoned)


def _init_stager(parent: int, stop) -> None:
    """The stager process: ends with the build; an interrupt is the build's to handle (it sets ``stop``)."""
    global _STOP
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    resources.die_with_parent(parent)
    _STOP = stop


def _stage(job: RemoteJob, cfg: BuildConfig, scratch: Path) -> Path:
    return stage(job, cfg, scratch, _STOP)


@dataclass
class _Staged:
    job: RemoteJob
    scratch: Path
    future: Future  # of the staged job folder
    t0: float


class Prefetcher:
    """Stage ahead, build, clean up; ``run`` hands every JobResult to ``on_result`` as it comes."""

    def __init__(self, cfg: BuildConfig, prints: dict, executor: Executor | None, workers: int):
        self.cfg, self.prints, self.executor = cfg, prints, executor
        self.workers = 1 if executor is None else max(workers, 1)
        # a process of its own: a serial build in this process does not wait for the stager's GIL
        ctx = multiprocessing.get_context()
        self.stop = ctx.Event()
        self.stager = ProcessPoolExecutor(
            max_workers=1, mp_context=ctx, initializer=_init_stager, initargs=(os.getpid(), self.stop)
        )
        self.scratches: list[Path] = []  # every scratch folder made: all removed by close()
        self.staging: deque[_Staged] = deque()  # in job order, staging or staged
        self.building: dict[Future, _Staged] = {}
        self.inline = 0  # a job building in this process (serial)

    def _on_disk(self) -> int:
        return len(self.staging) + len(self.building) + self.inline

    def _stage_next(self, pending: deque) -> None:
        while pending and self._on_disk() < self.workers + 1:
            job = pending.popleft()
            scratch = make_scratch(job)  # made here: known to close() before a byte is written
            self.scratches.append(scratch)
            fut = self.stager.submit(_stage, job, self.cfg, scratch)
            self.staging.append(_Staged(job, scratch, fut, time.perf_counter()))

    def _remove(self, item: _Staged) -> None:
        shutil.rmtree(item.scratch, ignore_errors=True)
        self.scratches.remove(item.scratch)

    def _start(self, item: _Staged, pending: deque, on_result: Callable) -> None:
        """Build a staged job (here, or on a worker); a job that could not be staged is a failed job."""
        try:
            local = item.future.result()
        except JobError as err:
            self._remove(item)
            on_result(staging_failed(item.job, self.cfg, err, time.perf_counter() - item.t0))
            return
        log.debug("%s: staged in %.1f s", item.job.name, time.perf_counter() - item.t0)
        fingerprint = self.prints[item.job.name]
        if self.executor is not None:
            self.building[self.executor.submit(process_job, local, self.cfg, fingerprint)] = item
            return
        self.inline = 1
        try:
            self._stage_next(pending)  # the next job is staged while this one builds
            res = process_job(local, self.cfg, fingerprint)
        finally:
            self.inline = 0
        self._remove(item)
        on_result(res)

    def _ready(self) -> bool:
        """The next job can start: its staging failed (no worker needed), or it is staged and a worker is
        free."""
        if not self.staging or not self.staging[0].future.done():
            return False
        return self.staging[0].future.exception() is not None or len(self.building) < self.workers

    def run(self, jobs: Sequence[RemoteJob], on_result: Callable[[JobResult], None]) -> None:
        pending = deque(jobs)
        while pending or self.staging or self.building:
            self._stage_next(pending)
            if self._ready():
                self._start(self.staging.popleft(), pending, on_result)
                continue
            waiting = list(self.building)  # a build ends, or the next job is staged
            if self.staging and not self.staging[0].future.done():
                waiting.append(self.staging[0].future)
            done, _ = wait(waiting, return_when=FIRST_COMPLETED)
            for fut in done:
                if fut in self.building:
                    item = self.building.pop(fut)
                    self._remove(item)
                    on_result(fut.result())

    def close(self) -> None:
        """Stop staging, let the builds still running end, and remove every scratch folder made."""
        self.stop.set()
        try:
            for item in self.staging:
                item.future.cancel()
            self.stager.shutdown(wait=True)  # the job staging stops after the objects in flight
            for fut in self.building:
                fut.cancel()
            wait([f for f in self.building if not f.cancelled()])  # a running build reads its folder
        finally:
            for scratch in self.scratches:
                shutil.rmtree(scratch, ignore_errors=True)
            self.scratches.clear()


def run_prefetched(
    jobs: Sequence[RemoteJob],
    cfg: BuildConfig,
    prints: dict,
    executor: Executor | None,
    workers: int,
    *,
    on_result: Callable[[JobResult], None],
    interrupted: Callable[[int, str], str],
) -> None:
    """Build remote ``jobs`` on this machine (serial: ``executor`` None, or a process pool of ``workers``),
    staging ahead; an interrupt or a broken pool raises ``Interrupted`` worded by ``interrupted``."""
    done = 0

    def counted(res: JobResult) -> None:
        nonlocal done
        done += 1
        on_result(res)

    prefetcher = Prefetcher(cfg, prints, executor, workers)
    try:
        prefetcher.run(jobs, counted)
    except (KeyboardInterrupt, BrokenProcessPool) as exc:
        raise Interrupted(interrupted(done, type(exc).__name__)) from exc
    finally:
        prefetcher.close()
