"""Publication of a build's tables: stage every file, then swap them in, so the last good tables stay.

All the tables (CSV, Parquet, per-split Parquet, build_info.json) are first written into a staging folder
inside the dataset (same file system); only when every one of them was written are they renamed into place
(a rename needs no space and cannot half-happen). A build that fails while staging (full disk, permissions,
interrupted) leaves the published files exactly as they were and names the file it could not write.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from rapid_croissant.errors import RapidCroissantError

log = logging.getLogger(__name__)

STAGING_PREFIX = ".staging-"


class PublishError(RapidCroissantError):
    """A file of the new build could not be written; the previous files are unchanged."""


def staging_dir(out: Path) -> Path:
    return Path(out) / f"{STAGING_PREFIX}{os.getpid()}"


def remove_stale_staging(out: Path) -> None:
    """Staging folders of killed builds (``.staging-<pid>``, only at the dataset root)."""
    for p in Path(out).glob(f"{STAGING_PREFIX}*"):
        if p.is_dir() and not p.is_symlink() and p.name[len(STAGING_PREFIX) :].isdigit():
            shutil.rmtree(p, ignore_errors=True)


def publish(out: Path, writers: dict[str, Callable[[Path], None]]) -> list[Path]:
    """Write each ``name -> writer(path)`` into staging, then rename all into ``out``; returns the paths."""
    out = Path(out)
    stage = staging_dir(out)
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        for name, write in writers.items():
            try:
                write(stage / name)
            except OSError as exc:
                why = exc.strerror or str(exc)
                raise PublishError(
                    f"{out / name}: could not be written ({why}); the published files are unchanged"
                ) from exc
        final = []
        for name in writers:
            os.replace(stage / name, out / name)
            final.append(out / name)
        return final
    finally:
        shutil.rmtree(stage, ignore_errors=True)
