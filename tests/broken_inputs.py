"""Named broken inputs made from a simulated RAPID job, each with its documented outcome in the build.

In the manner of hats-import's ``bad_schemas/`` and ``wrong_files_and_rows/``: every case copies a clean
simulated job folder, breaks one thing the way a user or a faulty pipeline would, and says what the build
must do with it: the job's status in jobs.csv, a text its notes (or error) must hold, and the file named.
``make_broken_inputs`` writes all of them as ``jid<N>`` folders of one input folder, so that one build
checks every outcome at once. Nothing here uses the simulator's answer key.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from rapid_croissant import formats

F = formats.FILES_2025
INJECT_GLOB = "*_lite_inject.txt"
OU_GLOB = "Roman_TDS_index_*.txt"
SECRET = "TOP-SECRET-CONTENT-NOT-FOR-PUBLICATION"


@dataclass(frozen=True)
class BrokenInput:
    """One broken job: how it is made and what the build must do with it."""

    name: str
    jid: str
    what: str  # what is broken
    status: str  # the job's status in jobs.csv: ok | partial | failed
    note: str  # text that the job's notes (partial/ok) or error (failed) must contain
    make: Callable[[Path, Path], None]  # make(job_dir, outside_dir)
    file: str | None = None  # the file check_job must name (a glob for the truth files); None: the folder


def _one(job: Path, pattern: str) -> Path:
    [path] = sorted(job.glob(pattern))
    return path


def _rewrite_rows(path: Path, edit: Callable[[list[str]], list[str]], *, header_lines: int = 1) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:header_lines] + edit(lines[header_lines:])) + "\n")


def _extra_field(rows: list[str]) -> list[str]:
    return [r + " 1.0" for r in rows]


def _short_first_row(rows: list[str]) -> list[str]:
    return [rows[0].rsplit(None, 1)[0], *rows[1:]]


def _crop(path: Path, rows: int, cols: int) -> None:
    with fits.open(path) as hdul:
        data, header = hdul[0].data[:rows, :cols].copy(), hdul[0].header.copy()
    fits.PrimaryHDU(data, header=header).writeto(path, overwrite=True)


def _as_int16(path: Path) -> None:
    with fits.open(path) as hdul:
        data, header = np.nan_to_num(hdul[0].data).astype(np.int16), hdul[0].header.copy()
    for key in ("BSCALE", "BZERO"):
        header.pop(key, None)
    fits.PrimaryHDU(data, header=header).writeto(path, overwrite=True)


def _secret(outside: Path) -> Path:
    outside.mkdir(parents=True, exist_ok=True)
    secret = outside / "secret.txt"
    secret.write_text(f"#   1 NUMBER\n#   2 FLAGS\n{SECRET}\n")
    return secret


def _link_outside(job: Path, outside: Path) -> None:
    target = job / F.zogy_sextractor
    target.unlink()
    target.symlink_to(_secret(outside))


def _link_inside(job: Path, outside: Path) -> None:
    (job / "original_sextractor.txt").write_bytes((job / F.zogy_sextractor).read_bytes())
    (job / F.zogy_sextractor).unlink()
    (job / F.zogy_sextractor).symlink_to("original_sextractor.txt")


def _fifo(job: Path, outside: Path) -> None:
    (job / F.sfft_sextractor).unlink()
    os.mkfifo(job / F.sfft_sextractor)


def _job_folder_outside(job: Path, outside: Path) -> None:
    elsewhere = outside / f"elsewhere_{job.name}"
    shutil.move(str(job), elsewhere)
    job.symlink_to(elsewhere, target_is_directory=True)


def _disjoint_ids(job: Path, outside: Path) -> None:
    def shift(rows):
        return [f"{int(r.split(None, 1)[0]) + 100000} {r.split(None, 1)[1]}" for r in rows]

    _rewrite_rows(job / F.zogy_psfcat, shift)


def _stray_2026(job: Path, outside: Path) -> None:
    shutil.copy(job / F.zogy_psfcat, job / formats.FILES_2026.zogy_psfcat)


CASES: tuple[BrokenInput, ...] = (
    BrokenInput(
        "truth_extra_field",
        "jid2001",
        "every injection row has one field more than the header (columns would shift: x takes y)",
        "failed",
        "do not have the 3 fields the header names",
        lambda j, o: _rewrite_rows(_one(j, INJECT_GLOB), _extra_field),
        file=INJECT_GLOB,
    ),
    BrokenInput(
        "truth_short_row",
        "jid2002",
        "one injection row lacks its flux",
        "failed",
        "1 row(s) do not have the 3 fields",
        lambda j, o: _rewrite_rows(_one(j, INJECT_GLOB), _short_first_row),
        file=INJECT_GLOB,
    ),
    BrokenInput(
        "truth_text_value",
        "jid2003",
        "a non-numeric xpix in the injection list",
        "failed",
        "non-numeric value",
        lambda j, o: _rewrite_rows(_one(j, INJECT_GLOB), lambda r: ["abc " + r[0].split(None, 1)[1], *r[1:]]),
        file=INJECT_GLOB,
    ),
    BrokenInput(
        "truth_nan_position",
        "jid2004",
        "a NaN ypix in the injection list",
        "failed",
        "non-finite ypix",
        lambda j, o: _rewrite_rows(
            _one(j, INJECT_GLOB), lambda r: [f"{r[0].split()[0]} nan {r[0].split()[2]}", *r[1:]]
        ),
        file=INJECT_GLOB,
    ),
    BrokenInput(
        "ou_extra_field",
        "jid2005",
        "every OpenUniverse row has one field more than its header",
        "failed",
        "do not have the 9 fields the header names",
        lambda j, o: _rewrite_rows(_one(j, OU_GLOB), _extra_field),
        file=OU_GLOB,
    ),
    BrokenInput(
        "psfcat_extra_field",
        "jid2006",
        "every ZOGY PSF-fit row has one field more than the header",
        "partial",
        "ZOGY detections not used",
        lambda j, o: _rewrite_rows(j / F.zogy_psfcat, _extra_field),
        file=F.zogy_psfcat,
    ),
    BrokenInput(
        "finder_short_row",
        "jid2007",
        "one SFFT finder row is one field short",
        "partial",
        "SFFT detections not used",
        lambda j, o: _rewrite_rows(j / F.sfft_finder, _short_first_row),
        file=F.sfft_finder,
    ),
    BrokenInput(
        "ids_disjoint",
        "jid2008",
        "ZOGY finder and PSF-fit tables share no id",
        "partial",
        "share no id",
        _disjoint_ids,
        file=F.zogy_psfcat,
    ),
    BrokenInput(
        "ids_partial",
        "jid2009",
        "one ZOGY PSF fit is missing for a finder row",
        "partial",
        "1 finder id(s) without a PSF fit",
        lambda j, o: _rewrite_rows(j / F.zogy_psfcat, lambda r: r[1:]),
        file=F.zogy_psfcat,
    ),
    BrokenInput(
        "scorr_wrong_shape",
        "jid2010",
        "the ZOGY S_corr image is smaller than the science frame",
        "partial",
        "channel not used",
        lambda j, o: _crop(j / F.channels["zogy_scorr"], 400, 400),
        file=F.channels["zogy_scorr"],
    ),
    BrokenInput(
        "uncert_wrong_shape",
        "jid2011",
        "the SFFT uncertainty map is smaller than the science frame (the seed resizes it)",
        "partial",
        "resized to it (seed behaviour)",
        lambda j, o: _crop(j / F.channels["sfft_uncert"], 257, 257),
        file=F.channels["sfft_uncert"],
    ),
    BrokenInput(
        "ref_wrong_shape",
        "jid2012",
        "the reference image is smaller than the science frame",
        "failed",
        "channel not used",
        lambda j, o: _crop(j / F.channels["ref"], 400, 513),
        file=F.channels["ref"],
    ),
    BrokenInput(
        "integer_channel",
        "jid2013",
        "the SFFT difference is written as 16-bit integers",
        "partial",
        "integer image (BITPIX 16)",
        lambda j, o: _as_int16(j / F.channels["sfft_diff"]),
        file=F.channels["sfft_diff"],
    ),
    BrokenInput(
        "stray_other_era_file",
        "jid2014",
        "a 2026-era ZOGY catalog copied into a 2025-era job",
        "partial",
        "products of both eras; read as 2025 era",
        _stray_2026,
        file=formats.FILES_2026.zogy_psfcat,
    ),
    BrokenInput(
        "symlink_catalog_outside",
        "jid2015",
        "the ZOGY SExtractor catalog is a symlink to a secret file outside the input",
        "partial",
        "not read: a symlink leaving the job folder",
        _link_outside,
        file=F.zogy_sextractor,
    ),
    BrokenInput(
        "symlink_catalog_inside",
        "jid2016",
        "the ZOGY SExtractor catalog is a symlink to another file of the same job",
        "ok",
        "",
        _link_inside,
    ),
    BrokenInput(
        "fifo_catalog",
        "jid2017",
        "the SFFT SExtractor catalog is a FIFO (reading it would block forever)",
        "partial",
        "not a regular file",
        _fifo,
        file=F.sfft_sextractor,
    ),
    BrokenInput(
        "job_folder_symlink_outside",
        "jid2018",
        "the job folder is a symlink to a folder outside the input",
        "failed",
        "job folder is a symlink leaving the input folder",
        _job_folder_outside,
    ),
)


def make_broken_inputs(source_job: Path, input_dir: Path, outside: Path, cases=CASES) -> dict[str, Path]:
    """Write every case as a job folder of ``input_dir`` (a copy of ``source_job``); returns name -> path."""
    input_dir.mkdir(parents=True, exist_ok=True)
    made = {}
    for case in cases:
        job = input_dir / case.jid
        shutil.copytree(source_job, job, symlinks=True)
        case.make(job, outside)
        made[case.name] = job
    return made
