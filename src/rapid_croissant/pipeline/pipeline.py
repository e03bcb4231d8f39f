"""Build a dataset from a folder of RAPID jobs: discover, submit one task per job, gather, assemble.

The runner only submits and gathers; each job writes its own outputs. A job whose done marker records
the same input fingerprint is skipped on a re-run (``--overwrite`` rebuilds everything).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rapid_croissant import __version__, formats, io
from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset import layout as names
from rapid_croissant.dataset import ownership, schema
from rapid_croissant.dataset.layout import SPLITS, Layout
from rapid_croissant.dataset.physical import PHYSICAL_COLUMNS
from rapid_croissant.errors import ConfigError, RapidCroissantError
from rapid_croissant.pipeline import parts, publish, resources, sync
from rapid_croissant.pipeline.job_task import JobResult, process_job
from rapid_croissant.pipeline.physical import gather_physical
from rapid_croissant.pipeline.split_record import assign_fields_and_splits, split_record_text
from rapid_croissant.pipeline.tasks import run_tasks
from rapid_croissant.writers.astropy_export import write_parquet_with_astropy_meta as write_astropy_parquet

log = logging.getLogger(__name__)

#: Pixels of a RAPID product (4089 x 4089), assumed for the memory of a job not read yet (remote input).
RAPID_FRAME_PIXELS = 4089 * 4089


@dataclass
class BuildSummary:
    output_dir: Path
    results: list[JobResult] = field(default_factory=list)
    n_candidates: int = 0

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.results if r.status == "failed"]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out


def _is_done(out_dir: Path, job_dir: Path, fingerprint: str | None, overwrite: bool = False) -> bool:
    marker = parts.part_paths(out_dir, job_dir.name)["job"]
    if overwrite or fingerprint is None or not marker.exists():
        return False
    try:
        row = json.loads(marker.read_text())
    except (OSError, ValueError):  # a damaged done marker: rebuild the job
        return False
    return isinstance(row, dict) and row.get("fingerprint") == fingerprint and row.get("status") != "failed"


def discover(cfg: BuildConfig) -> list:
    """Every job of the input: local job folders (Path), or staging.RemoteJob for an fsspec URL input."""
    if cfg.remote:
        from rapid_croissant.pipeline.staging import discover_remote_jobs

        return discover_remote_jobs(cfg)
    return io.discover_jobs(cfg.input_dir)


def select_jobs(cfg: BuildConfig, jobs: list | None = None) -> list:
    """The jobs to build: ``jobs`` (default: every job of the input) narrowed to ``cfg.jobs``."""
    jobs = discover(cfg) if jobs is None else jobs
    if cfg.jobs:
        wanted = set(cfg.jobs)
        missing = wanted - {j.name for j in jobs}
        if missing:
            raise ConfigError(f"--jobs names jobs not found in {cfg.input_dir}: {sorted(missing)}")
        jobs = [j for j in jobs if j.name in wanted]
    if not jobs:
        raise ConfigError(f"no jid<N> job folders found in {cfg.input_dir}")
    return jobs


def _make_executor(cfg: BuildConfig, jobs: list[Path]) -> Executor | None:
    if cfg.executor == "serial" or cfg.n_workers == 1:
        return None
    if cfg.executor == "dask":
        from rapid_croissant.pipeline.dask_executor import dask_executor

        return dask_executor(cfg)
    n = resources.cap_workers(min(cfg.n_workers, max(len(jobs), 1)), _per_job_bytes(jobs))
    if n == 1:
        return None
    return ProcessPoolExecutor(max_workers=n, initializer=resources.die_with_parent, initargs=(os.getpid(),))


def _per_job_bytes(jobs: list) -> int:
    """Memory one worker needs, from the largest science frame among the jobs (header only; a remote job
    is not read here: RAPID's frame size is assumed)."""
    biggest = 0
    for j in jobs:
        if not isinstance(j, Path):
            biggest = max(biggest, RAPID_FRAME_PIXELS)
            continue
        try:
            h, w = io.read_plane_shape(j / formats.FILES_2025.channels["sci"], job=j)
        except RapidCroissantError:
            continue
        biggest = max(biggest, h * w)
    return resources.job_memory(biggest, 1)


def _run(
    todo: list[Path], cfg: BuildConfig, executor: Executor | None, progress: bool, prints: dict
) -> list[JobResult]:
    from tqdm.auto import tqdm

    task, size = process_job, {j.name: 1 for j in todo}
    bar_options = {"total": len(todo), "desc": "building jobs", "unit": "job"}
    if cfg.remote:
        from rapid_croissant.pipeline.staging import process_remote_job

        task = process_remote_job
        if any(j.nbytes for j in todo):  # the bar counts the bytes read, job by job
            size = {j.name: j.nbytes for j in todo}
            bar_options = {"total": sum(size.values()), "desc": "jobs read", "unit": "B", "unit_scale": True}
    bar = tqdm(**bar_options, disable=not progress)
    results, t0 = [], time.perf_counter()

    def on_result(res: JobResult) -> None:
        results.append(res)
        _log_result(res)
        bar.update(size.get(res.jid, 1))

    def interrupted(n: int, why: str) -> str:
        return (
            f"build of {cfg.output_dir} interrupted ({why}) after {n} of {len(todo)} job(s): finished "
            "jobs are kept, the published tables are unchanged; run the same command again to resume"
        )

    try:
        if cfg.remote and _on_this_machine(executor):  # the next jobs are staged while others build
            from rapid_croissant.pipeline.prefetch import run_prefetched

            workers = getattr(executor, "_max_workers", None) or cfg.n_workers
            run_prefetched(todo, cfg, prints, executor, workers, on_result=on_result, interrupted=interrupted)
        else:
            calls = [(j, cfg, prints[j.name]) for j in todo]
            run_tasks(task, calls, executor, on_result=on_result, interrupted=interrupted)
    finally:
        bar.close()
    log.info("%d job(s) built in %.2f s", len(results), time.perf_counter() - t0)
    return results


def _on_this_machine(executor: Executor | None) -> bool:
    """True for the executors whose tasks run on this machine (they read a scratch folder staged here)."""
    return executor is None or isinstance(executor, ProcessPoolExecutor | ThreadPoolExecutor)


def _log_result(res: JobResult) -> None:
    if res.status == "failed":
        log.error("%s FAILED: %s", res.jid, res.error)
        return
    c = res.counts
    log.info(
        "%s %s: %d candidates (%d ZOGY, %d SFFT, %d both), %d real, %d bogus, %d unknown, %d truth (%.1f s)",
        res.jid,
        res.status,
        c["n_candidates"],
        c["n_zogy"],
        c["n_sfft"],
        c["n_both"],
        c["n_real"],
        c["n_bogus"],
        c["n_unknown"],
        c["n_truth"],
        res.seconds,
    )
    for note in res.warnings:
        log.warning("%s", note)


def build_dataset(
    cfg: BuildConfig, *, executor: Executor | None = None, progress: bool = True
) -> BuildSummary:
    """Build (or resume) the dataset of ``cfg``; returns a summary (check ``.failed``).

    The output folder is claimed (never the input tree, never a foreign non-empty folder) and locked; the
    tables are published only when every job ran without an environment failure (full disk, permissions).
    """
    all_jobs = discover(cfg)
    jobs = select_jobs(cfg, all_jobs)
    with ownership.owned_output(cfg.output_dir, None if cfg.remote else cfg.input_dir) as out:
        publish.remove_stale_staging(out)
        sync.reconcile_removed(out, [j.name for j in all_jobs], prune=cfg.prune)
        planned = [f for j in jobs for f in sync.job_files(out, j.name)] + table_paths(out)
        planned += _store_paths(out, cfg)
        ownership.refuse_foreign(out, planned)  # never overwrite a file of the user
        ownership.record_inventory(out, planned, planned=True)  # owned before written: a kill keeps them ours
        (out / names.PARTS_DIR).mkdir(exist_ok=True)
        prints = _fingerprints(jobs, cfg, out)
        todo = [j for j in jobs if not _is_done(out, j, prints[j.name], cfg.overwrite)]
        skipped = [JobResult(j.name, "skipped") for j in jobs if j not in todo]
        if skipped:
            log.info(
                "%d jobs already built with the same inputs: skipped (--overwrite rebuilds)", len(skipped)
            )
        own = executor is None
        executor = executor or _make_executor(cfg, todo)
        try:
            results = _run(todo, cfg, executor, progress, prints)
            ownership.clean_temporaries(out)  # left by a worker killed mid-write (its job was run again)
            _abort_on_environment_failure(results)
            lay = Layout(out)
            for r in (r for r in results if r.status == "failed"):  # no stale tensors of a job now failing
                ownership.remove_owned(out, [lay.image(r.jid), lay.mask(r.jid), lay.psf(r.jid)])
            summary = BuildSummary(out, sorted(results + skipped, key=lambda r: parts._jid_number(r.jid)))
            summary.n_candidates = write_tables(out, [j.name for j in all_jobs], cfg)
            _write_store(out, cfg, all_jobs, executor, progress)
        finally:
            if own and executor is not None:
                executor.shutdown(cancel_futures=True)
        store = [p for p in Layout(out).cutouts_dir.glob("*") if p.is_file()]
        ownership.record_inventory(out, planned + store)
    return summary


def _store_paths(out: Path, cfg: BuildConfig) -> list[Path]:
    if cfg.profile != "cutouts":
        return []
    from rapid_croissant.pipeline.store_plan import planned_files

    return planned_files(out)


def _write_store(
    out: Path, cfg: BuildConfig, all_jobs: list, executor: Executor | None, progress: bool
) -> None:
    """The cutout store: written in place by the jobs (cutouts profile), or cut from the tensors."""
    if cfg.profile == "cutouts":  # the store is this profile's product: brought up to date on every build
        from rapid_croissant.pipeline.store_assembly import assemble_cutout_store, run_fill_jobs

        log.info("cutout store dtype %s (the cutouts profile default: uint8)", cfg.cutout_dtype)
        job_dirs = None if cfg.remote else {j.name: j for j in all_jobs}
        run = functools.partial(run_fill_jobs, cfg=cfg, executor=executor, progress=progress)
        assemble_cutout_store(out, dtype=cfg.cutout_dtype, job_dirs=job_dirs, run=run)
    elif cfg.cutouts or sync.cutout_store_stale(out):  # a store made from older tables is rebuilt
        from rapid_croissant.pipeline.cutout_store import write_cutout_store
        from rapid_croissant.writers.cutout_parquet import write_cutout_parquet

        write_cutout_store(out, dtype=sync.cutout_dtype(out, cfg))
        write_cutout_parquet(out)


def _fingerprints(jobs: list, cfg: BuildConfig, out: Path) -> dict[str, str | None]:
    """The input fingerprint of every job that may be skipped (it has a done marker), read by a few threads
    (reading the files is most of it); None for a local job to build anyway: its own task takes it, on a
    worker (a remote job's fingerprint is its listing, taken here)."""

    def marked(j) -> bool:
        return cfg.remote or (not cfg.overwrite and parts.part_paths(out, j.name)["job"].exists())

    prints: dict[str, str | None] = dict.fromkeys([j.name for j in jobs])
    known = [j for j in jobs if marked(j)]
    if len(known) < 2 or cfg.n_workers < 2:
        return prints | {j.name: job_fingerprint(j, cfg, out) for j in known}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(cfg.n_workers, 4)) as pool:
        found = list(pool.map(lambda j: job_fingerprint(j, cfg, out), known))
    return prints | dict(zip([j.name for j in known], found, strict=True))


def job_fingerprint(job, cfg: BuildConfig, out: Path | None = None) -> str:
    """The input fingerprint of one job: content digests of a local folder (sync.job_fingerprint), or the
    name, size and ETag of every object of a remote job (staging.remote_fingerprint)."""
    if cfg.remote:
        from rapid_croissant.pipeline.staging import remote_fingerprint

        return remote_fingerprint(job, cfg)
    return sync.job_fingerprint(job, cfg, out)


def _abort_on_environment_failure(results: list[JobResult]) -> None:
    """A job that could not write its outputs (disk full, permission) stops the publication."""
    broken = [r for r in results if r.environment]
    if broken:
        raise publish.PublishError(
            f"{broken[0].error}; {len(broken)} job(s) could not write their outputs: the published tables "
            "are unchanged and finished jobs are kept; fix the cause and run the same command again"
        )


def write_tables(out: Path, jids: list[str], cfg: BuildConfig) -> int:
    """Assemble the parts into the dataset tables (CSV + typed Parquet + one Parquet per split)."""
    cand, tru, jobs = parts.assemble(out, jids)
    jobs = assign_fields_and_splits(out, jobs, cfg)
    split_of = dict(zip(jobs["jid"], jobs["split"], strict=True))
    cand["split"] = cand["jid"].map(split_of).astype("string")
    record = split_record_text(out, jobs, cfg)
    built = jobs.loc[jobs["status"] != "failed", "jid"].astype(str).tolist()
    physical = gather_physical(Layout(out), built)
    info = {
        "rapid_croissant_version": __version__,
        "config": cfg.to_json_dict(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    writers = {  # staged, then swapped in: the last good tables stay until all of these are written
        names.CANDIDATES_CSV: lambda p: _write_candidates_csv(p, out, cand),
        names.CANDIDATES_PARQUET: lambda p: write_astropy_parquet(p, cand, schema.CANDIDATE_SCHEMA),
        **{names.candidates_split_name(split): _split_writer(cand, split) for split in SPLITS},
        names.TRUTH_CSV: lambda p: tru.to_csv(p, index=False, na_rep=""),
        names.TRUTH_PARQUET: lambda p: write_astropy_parquet(p, tru, schema.TRUTH_SCHEMA),
        names.JOBS_CSV: lambda p: jobs.to_csv(p, index=False, na_rep=""),
        names.JOBS_PARQUET: lambda p: write_astropy_parquet(p, jobs, schema.JOB_SCHEMA),
        names.BUILD_INFO: lambda p: p.write_text(json.dumps(info, indent=1, default=str)),
        names.SPLIT_RECORD: lambda p: p.write_text(record),
        names.PHYSICAL_PARQUET: lambda p: write_astropy_parquet(p, physical, PHYSICAL_COLUMNS),
    }
    publish.publish(out, writers)
    return len(cand)


def _write_candidates_csv(path: Path, out: Path, cand) -> None:
    """candidates.csv from the rows each job formatted (the same bytes as ``cand.to_csv``), or formatted
    here when a job's rows are missing (a dataset built by an earlier version)."""
    text = parts.candidates_csv(out, cand)
    if text is None:
        cand.to_csv(path, index=False, na_rep="")
    else:
        path.write_bytes(text)


def table_paths(out: Path) -> list[Path]:
    """The files ``write_tables`` publishes."""
    lay = Layout(out)
    tables = [lay.candidates_csv, lay.candidates_parquet, *(lay.candidates_split(s) for s in SPLITS)]
    tables += [lay.truth_csv, lay.truth_parquet, lay.jobs_csv, lay.jobs_parquet, lay.physical]
    return [*tables, lay.build_info, lay.split_record]


def _split_writer(cand, split: str):
    part = cand[cand["split"] == split].reset_index(drop=True)
    return lambda p: write_astropy_parquet(p, part, schema.CANDIDATE_SCHEMA)
