"""The broken jobs real users meet, added by ``simulate --defects`` (one job per kind), and non-job clutter.

Each defect has a documented outcome in the reader and the build (see README, "Bad input").
"""

from __future__ import annotations

from pathlib import Path

from rapid_croissant import formats
from rapid_croissant.simulate.writer import truncate_file

DEFECT_KINDS = (
    "sfft_failed",  # RAPID's SFFT step failed (exit code 4): no SFFT products at all
    "header_only_catalog",  # the ZOGY photutils catalogs hold a header line and no rows
    "no_truth",  # neither the injection list nor the OpenUniverse index is present
    "truncated_fits",  # the ZOGY S_corr image was cut short (a partial transfer)
    "edge_sources",  # bright transients right on the image edges
    "big_nan_region",  # a large region without reference coverage (NaN in the masked products)
)


def apply(job_dir: Path, kind: str | None, *, era: str) -> None:
    """Damage a freshly written job folder the way ``kind`` says (no-op for None)."""
    if kind is None or kind in ("sfft_failed", "edge_sources", "big_nan_region"):
        return  # these are simulated, not damaged after the fact
    files = formats.FILES_BY_ERA[era]
    if kind == "header_only_catalog":
        for name in (files.zogy_finder, files.zogy_psfcat):
            path = job_dir / name
            if path.exists():
                path.write_text(path.read_text().splitlines()[0] + "\n")
    elif kind == "no_truth":
        for path in job_dir.iterdir():
            if formats.INJECTION_PATTERN.match(path.name) or formats.OU_INDEX_PATTERN.match(path.name):
                path.unlink()
    elif kind == "truncated_fits":
        truncate_file(job_dir / files.channels["zogy_scorr"], fraction=0.5)
    else:
        raise ValueError(f"unknown defect kind {kind!r}; expected one of {DEFECT_KINDS}")


def add_clutter(out_dir: Path) -> None:
    """Things next to the jobs that are not jobs: a backup folder, a list file, a calibration folder."""
    backup = out_dir / "jid_backup_old"
    backup.mkdir(exist_ok=True)
    (backup / "README.txt").write_text("old products, kept by hand\n")
    (out_dir / "jid_list.txt").write_text("jid1001\njid1002\n")
    calib = out_dir / "calibration"
    calib.mkdir(exist_ok=True)
    (calib / "notes.txt").write_text("flat fields live elsewhere\n")
