"""The input gate of a build: ``check_job`` decides what of a job may be trusted before anything is read.

Whatever is wrong ends in the job's notes (naming the file) and its status, never only on the console:

- an error touching the whole job (science or reference image, the folder, a truth file) fails the job;
- an error in one algorithm's finder / PSF-fit catalogs drops that algorithm's detections (``partial``);
  both algorithms dropped fails the job;
- an error in one image channel (truncated, integer, wrong shape) leaves that channel empty and masked
  (``partial``);
- a warning that changes what is built (a resized uncertainty map, ids that disagree, a file not read
  because it leaves the job folder, products of both eras) makes the job ``partial``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from rapid_croissant import formats, io
from rapid_croissant.errors import JobError

log = logging.getLogger(__name__)

#: Warnings the build notes itself (an absent algorithm, an empty catalog, no truth): not repeated.
_NOTED_ELSEWHERE = ("missing;", "catalog absent", "catalog without rows", "no truth files")


@dataclass
class GateResult:
    job: io.RapidJob
    notes: list[str] = field(default_factory=list)
    partial: bool = False


def _fail(job_dir: Path, problems: list[io.JobProblem]) -> JobError:
    first = problems[0]
    reason = "; ".join([first.message] + [str(p) for p in problems[1:]])
    return JobError(job_dir, first.file, reason)


def gate_job(job_dir: str | Path) -> GateResult:
    """Open a job after checking it; JobError (naming the file) when nothing of it can be trusted."""
    job_dir = Path(job_dir)
    problems = io.check_job(job_dir)
    errors = [p for p in problems if p.severity == "error"]
    fatal = [p for p in errors if p.scope in ("job", "truth")]
    if fatal:
        raise _fail(job_dir, fatal)
    job = io.open_job(job_dir)
    dropped = {p.scope for p in errors if p.scope in formats.SUBTRACTIONS}
    for alg in dropped:
        setattr(job, f"has_{alg}", False)
    if not (job.has_zogy or job.has_sfft):
        raise _fail(job_dir, [p for p in errors if p.scope in formats.SUBTRACTIONS])
    for p in problems:  # an unusable channel (wrong shape, integer, unreadable) is left empty and masked
        if p.scope.startswith("channel:"):
            job.channels_present[p.scope.split(":", 1)[1]] = False
    notes = [
        str(p) + (f": {p.scope.upper()} detections not used" if p.scope in dropped else "")
        for p in problems
        if p.severity == "error" or not p.message.startswith(_NOTED_ELSEWHERE)
    ]
    partial = bool(errors) or any(p.degrades for p in problems)
    for note in notes:
        log.debug("gate: %s", note)
    return GateResult(job, notes, partial)
