"""Build a dataset from a folder of RAPID jobs: discover, submit one task per job, gather, assemble.

The runner only submits and gathers; each job writes its own outputs. A job whose done marker records
the same input fingerprint is skipped on a re-run (``--overwrite`` rebuilds everything).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from rapid_croissant import __version__, io, schema
from rapid_croissant.config import BuildConfig
from rapid_croissant.errors import ConfigError
from rapid_croissant.pipeline import parts
from rapid_croissant.pipeline.job_task import JobResult, process_job
from rapid_croissant.pipeline.split_record import assign_fields_and_splits, write_split_record
from rapid_croissant.writers import atomic

log = logging.getLogger(__name__)


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


def job_fingerprint(job_dir: Path, cfg: BuildConfig) -> str:
    """Hash of the science options and of every input file's name, size and modification time."""
    h = hashlib.sha256(json.dumps(cfg.science_dict(), sort_keys=True).encode())
    for p in sorted(job_dir.iterdir()):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _is_done(out_dir: Path, job_dir: Path, fingerprint: str) -> bool:
    marker = parts.part_paths(out_dir, job_dir.name)["job"]
    if not marker.exists():
        return False
    row = json.loads(marker.read_text())
    return row.get("fingerprint") == fingerprint and row.get("status") != "failed"


def _remove_stale_temporaries(out: Path) -> None:
    """Temporary files left by a build that was killed mid-write (never under a final name)."""
    for tmp in out.rglob(".*.tmp*"):
        tmp.unlink(missing_ok=True)


def select_jobs(cfg: BuildConfig) -> list[Path]:
    jobs = io.discover_jobs(cfg.input_dir)
    if cfg.jobs:
        wanted = set(cfg.jobs)
        missing = wanted - {j.name for j in jobs}
        if missing:
            raise ConfigError(f"--jobs names jobs not found in {cfg.input_dir}: {sorted(missing)}")
        jobs = [j for j in jobs if j.name in wanted]
    if not jobs:
        raise ConfigError(f"no jid<N> job folders found in {cfg.input_dir}")
    return jobs


def _make_executor(cfg: BuildConfig) -> Executor | None:
    if cfg.executor == "serial" or cfg.n_workers == 1:
        return None
    if cfg.executor == "dask":
        from rapid_croissant.pipeline.dask_executor import dask_executor

        return dask_executor(cfg)
    return ProcessPoolExecutor(max_workers=cfg.n_workers)


def _run(
    todo: list[Path], cfg: BuildConfig, executor: Executor | None, progress: bool, prints: dict
) -> list[JobResult]:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc="building jobs", unit="job", disable=not progress)
    results = []
    if executor is None:
        gen = (process_job(j, cfg, prints[j.name]) for j in todo)
    else:
        futures = [executor.submit(process_job, j, cfg, prints[j.name]) for j in todo]
        gen = (f.result() for f in as_completed(futures))
    for res in gen:
        results.append(res)
        _log_result(res)
        bar.update(1)
    bar.close()
    return results


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
    """Build (or resume) the dataset of ``cfg``; returns a summary (check ``.failed``)."""
    jobs = select_jobs(cfg)
    out = cfg.output_dir
    out.mkdir(parents=True, exist_ok=True)
    prints = {j.name: job_fingerprint(j, cfg) for j in jobs}
    todo = [j for j in jobs if cfg.overwrite or not _is_done(out, j, prints[j.name])]
    skipped = [JobResult(j.name, "skipped") for j in jobs if j not in todo]
    if skipped:
        log.info(
            "%d jobs already built with the same inputs: skipped (use --overwrite to rebuild)", len(skipped)
        )
    own = executor is None
    executor = executor or _make_executor(cfg)
    _remove_stale_temporaries(out)
    try:
        results = _run(todo, cfg, executor, progress, prints)
    finally:
        if own and executor is not None:
            executor.shutdown()
    summary = BuildSummary(out, sorted(results + skipped, key=lambda r: parts._jid_number(r.jid)))
    summary.n_candidates = write_tables(out, [j.name for j in jobs], cfg)
    if cfg.cutouts:
        from rapid_croissant.pipeline.cutout_store import write_cutout_store

        write_cutout_store(out, dtype=cfg.cutout_dtype)
    return summary


def write_tables(out: Path, jids: list[str], cfg: BuildConfig) -> int:
    """Assemble the parts into the dataset tables (CSV + typed Parquet + one Parquet per split)."""
    cand, tru, jobs = parts.assemble(out, jids)
    jobs = assign_fields_and_splits(out, jobs, cfg)
    split_of = dict(zip(jobs["jid"], jobs["split"], strict=True))
    cand["split"] = cand["jid"].map(split_of).astype("string")
    atomic.write_csv(out / schema.CANDIDATES_CSV, cand)
    atomic.write_parquet(out / schema.CANDIDATES_PARQUET, cand)
    for split in schema.SPLITS:
        atomic.write_parquet(
            out / f"candidates-{split}.parquet", cand[cand["split"] == split].reset_index(drop=True)
        )
    atomic.write_csv(out / schema.TRUTH_CSV, tru)
    atomic.write_parquet(out / schema.TRUTH_PARQUET, tru)
    atomic.write_csv(out / schema.JOBS_CSV, jobs)
    atomic.write_parquet(out / schema.JOBS_PARQUET, jobs)
    write_split_record(out, jobs, cfg)
    info = {
        "rapid_croissant_version": __version__,
        "config": {k: v for k, v in cfg.to_json_dict().items() if k not in ("extra",)},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    atomic.write_text(out / "build_info.json", json.dumps(info, indent=1, default=str))
    return len(cand)
