"""Exceptions and warnings of rapid-croissant.

Errors about input always name the job and the file, so a user can find the problem at once.
"Nothing found" (an empty catalog, a job without truth) is a warning, never an error.
"""

from __future__ import annotations

from pathlib import Path


class RapidCroissantError(Exception):
    """Base class of every error raised by rapid-croissant."""


class JobError(RapidCroissantError):
    """A problem with one RAPID job folder: names the job, the file and the reason."""

    def __init__(self, job: str | Path, file: str | Path | None, reason: str):
        self.job = Path(job).name
        self.file = None if file is None else Path(file).name
        self.reason = reason
        where = f"{self.job}/{self.file}" if self.file else self.job
        super().__init__(f"{where}: {reason}")

    def __reduce__(self):  # pickled with its three parts: it crosses process pools (remote staging)
        return type(self), (self.job, self.file, self.reason)


class ConfigError(RapidCroissantError, ValueError):
    """An invalid option or configuration value (names the parameter)."""


class RapidInputWarning(UserWarning):
    """Input is usable but incomplete: an absent or empty catalog, a job without truth files, ..."""


class NoDetectionsWarning(RapidInputWarning):
    """A catalog is absent or has a header but no rows: read as "no detections"."""


class NoTruthWarning(RapidInputWarning):
    """A job has no truth files: its labels are unknown (-1), never silently bogus."""


class InconsistentInputWarning(RapidInputWarning):
    """Input usable only in part (finder and PSF-fit ids disagree, a resized map, a skipped file): the job is
    built, its status is ``partial`` and the note names the file."""


class Interrupted(RapidCroissantError):
    """A command was interrupted (SIGINT, SIGTERM, a dead worker pool): what finished is kept, resumable."""
