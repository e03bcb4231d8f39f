"""Per-job table parts under ``<output>/.parts/``: written as each job finishes, so a crash never loses
finished jobs, and assembled into the dataset tables at the end of a build."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant import formats, io
from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import Layout, image_name
from rapid_croissant.io.paths import usable_file
from rapid_croissant.science.fields import footprint_text
from rapid_croissant.writers import atomic

log = logging.getLogger(__name__)


def part_paths(out_dir: Path, jid: str) -> dict[str, Path]:
    layout = Layout(out_dir)
    return {
        "candidates": layout.part_candidates(jid),
        "candidates_csv": layout.part_candidates_csv(jid),
        "truth": layout.part_truth(jid),
        "job": layout.part_job(jid),
    }


def copy_catalogs(job: io.RapidJob, out_dir: Path) -> list[str]:
    """Copy every catalog the seed lists (either era's name) that exists to catalogs/<jid>_<name>."""
    copied = []
    for name in formats.SEED_CATALOG_FILES:
        src = job.path / name
        if usable_file(src):  # regular files inside the job only (symlinks leaving it: --follow-symlinks)
            atomic.copy_file(src, Layout(out_dir).catalog(job.jid, name))
            copied.append(name)
    return copied


def job_counts(cand: pd.DataFrame, tru: pd.DataFrame, dropped: int) -> dict:
    lab = cand["label"]
    return {
        "n_candidates": len(cand),
        "n_zogy": int(cand["zogy_id"].notna().sum()),
        "n_sfft": int(cand["sfft_id"].notna().sum()),
        "n_both": int((cand["detected_by"] == "both").sum()),
        "n_real": int((lab == schema.LABEL_REAL).sum()),
        "n_bogus": int((lab == schema.LABEL_BOGUS).sum()),
        "n_unknown": int((lab == schema.LABEL_UNKNOWN).sum()),
        "n_truth": len(tru),
        "n_out_of_bounds": dropped,
    }


def write_job_parts(
    out_dir: Path,
    job: io.RapidJob,
    cand,
    tru,
    counts: dict,
    *,
    status: str,
    notes,
    cfg,
    fingerprint: str = "",
) -> None:
    paths = part_paths(out_dir, job.jid)
    atomic.write_parquet(paths["candidates"], cand)
    atomic.write_text(paths["candidates_csv"], csv_rows(cand))
    atomic.write_parquet(paths["truth"], tru)
    f = job.header
    row = {
        "jid": job.jid,
        "era": job.era,
        "filter": f.filter,
        "zpt": f.zptmag,
        "exptime": f.exptime,
        "mjd": f.mjd,
        "sca": f.sca,
        "height": job.shape[0],
        "width": job.shape[1],
        "status": status,
        "has_zogy": job.has_zogy,
        "has_sfft": job.has_sfft,
        "has_truth": job.has_truth,
        **counts,
        "image_filename": image_name(job.jid) if cfg.full_images else "",
        "footprint": footprint_text(f.wcs, job.shape),
        "error": "",
        "notes": "; ".join(notes),
        "fingerprint": fingerprint,
    }
    atomic.write_text(paths["job"], json.dumps(row, default=str))


def write_failed_job(out_dir: Path, jid: str, error: str) -> None:
    paths = part_paths(out_dir, jid)
    for key in ("candidates", "candidates_csv", "truth"):
        paths[key].unlink(missing_ok=True)
    atomic.write_text(paths["job"], json.dumps({"jid": jid, "status": "failed", "error": error}))


def csv_rows(cand: pd.DataFrame) -> str:
    """The job's rows of candidates.csv as the build writes them (typed by the schema, no header), with an
    empty last field, ``split``, that the build fills in (``candidates_csv``): formatting the rows is most
    of writing the CSV, and here it runs in the job's own task, on its worker."""
    return schema.cast_table(cand, schema.CANDIDATE_SCHEMA).to_csv(index=False, header=False, na_rep="")


def candidates_csv(out_dir: Path, cand: pd.DataFrame) -> bytes | None:
    """candidates.csv of the assembled ``cand`` (split filled in) from the jobs' rows; None when a job's
    rows are missing or out of step (a dataset built before they existed): the caller formats the table."""
    if list(cand.columns)[-1] != "split" or cand["split"].isna().any():
        return None
    header = cand.iloc[:0].to_csv(index=False).encode()
    chunks = [header]
    jids = cand["jid"].astype(str).to_numpy()
    if not len(jids):
        return header
    starts = np.r_[0, np.flatnonzero(jids[1:] != jids[:-1]) + 1, len(jids)]  # each job's rows, in order
    splits = cand["split"].astype(str).to_numpy()
    for a, b in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
        path = part_paths(out_dir, jids[a])["candidates_csv"]
        try:
            rows = path.read_bytes()
        except OSError:
            return None
        lines = rows.count(b"\n")  # every row on its own line, ending with the empty split field
        if lines != b - a or rows.count(b",\n") != lines or (splits[a:b] != splits[a]).any():
            return None
        chunks.append(rows.replace(b",\n", f",{splits[a]}\n".encode()))
    return b"".join(chunks)


def _jid_number(jid: str) -> int:
    return int(jid[3:]) if jid[3:].isdigit() else 0


def assemble(out_dir: Path, jids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Concatenate the parts of ``jids`` (in jid order) into typed candidates, truth and jobs tables."""
    jids = sorted(jids, key=_jid_number)
    cands, truths, jobs = [], [], []
    for jid in jids:
        p = part_paths(out_dir, jid)
        if not p["job"].exists():
            continue
        jobs.append(json.loads(p["job"].read_text()))
        if p["candidates"].exists():
            cands.append(pd.read_parquet(p["candidates"]))
        if p["truth"].exists():
            truths.append(pd.read_parquet(p["truth"]))
    cand = pd.concat(cands, ignore_index=True) if cands else pd.DataFrame()
    tru = pd.concat(truths, ignore_index=True) if truths else pd.DataFrame()
    return (
        schema.cast_table(cand, schema.CANDIDATE_SCHEMA),
        schema.cast_table(tru, schema.TRUTH_SCHEMA),
        schema.cast_table(pd.DataFrame(jobs), schema.JOB_SCHEMA),
    )
