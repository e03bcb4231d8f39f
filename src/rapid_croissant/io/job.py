"""One RAPID job folder as a typed object (``open_job``) and a full list of its problems (``check_job``).

Both are cheap: they read headers, file sizes and catalog header lines, never the 4089² planes.
A job whose SFFT (or ZOGY) products are missing is still usable from the other algorithm (rapid_formats.md
defect 14); only missing science/reference images, or both algorithms missing, make it unusable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from rapid_croissant import formats
from rapid_croissant.errors import ConfigError, JobError
from rapid_croissant.io.catalogs import peek_catalog
from rapid_croissant.io.discovery import detect_era
from rapid_croissant.io.fits import HeaderFacts, check_plane_file, read_header_facts, read_plane_shape
from rapid_croissant.io.truth import find_truth_files, read_injections, read_ou_index

logger = logging.getLogger(__name__)

#: Channels every job needs whatever the algorithm: those produced by neither ZOGY nor SFFT (sci, ref).
_ALGORITHM_OWNED = {c for channels in formats.SUBTRACTION_CHANNELS.values() for c in channels}
CORE_CHANNELS = tuple(c for c in formats.CHANNELS if c not in _ALGORITHM_OWNED)


@dataclass
class JobProblem:
    """One problem of a job, naming the file; severity 'error' (job unusable) or 'warning'."""

    job: str
    file: str | None
    severity: str
    message: str

    def __str__(self) -> str:
        where = f"{self.job}/{self.file}" if self.file else self.job
        return f"{where}: {self.message}"


@dataclass
class RapidJob:
    """What is known about a job folder without reading its planes."""

    path: Path
    jid: str
    era: str
    files: formats.JobFiles
    header: HeaderFacts
    shape: tuple[int, int] | None
    channels_present: dict[str, bool]
    has_zogy: bool
    has_sfft: bool
    injection_files: list[Path]
    ou_files: list[Path]

    @property
    def has_truth(self) -> bool:
        """True when the job has an injection list or an OpenUniverse index (labels can be known)."""
        return bool(self.injection_files or self.ou_files)

    def channel_path(self, channel: str) -> Path:
        if channel not in self.files.channels:
            raise ConfigError(f"channel {channel!r} is not one of {', '.join(self.files.channels)}")
        return self.path / self.files.channels[channel]

    def catalog_path(self, name: str) -> Path:
        if name not in self.files.catalogs:
            raise ConfigError(f"catalog {name!r} is not one of {', '.join(self.files.catalogs)}")
        return self.path / self.files.catalogs[name]


def _channels_present(path: Path, files: formats.JobFiles) -> dict[str, bool]:
    return {channel: (path / name).is_file() for channel, name in files.channels.items()}


def _complete_algorithms(present: dict[str, bool]) -> list[str]:
    return [alg for alg in formats.SUBTRACTIONS if all(present[c] for c in formats.SUBTRACTION_CHANNELS[alg])]


def open_job(job_dir: str | Path) -> RapidJob:
    """Read a job's headers, shape and file inventory; JobError when the job is not usable at all."""
    path = Path(job_dir)
    if not path.is_dir():
        raise JobError(path, None, "job folder does not exist or is not a directory")
    era = detect_era(path)
    files = formats.FILES_BY_ERA[era]
    present = _channels_present(path, files)
    for channel in CORE_CHANNELS:
        if not present[channel]:
            raise JobError(path, files.channels[channel], f"missing: the {channel} image is required")
    complete = _complete_algorithms(present)
    if not complete:
        raise JobError(path, None, "neither the ZOGY nor the SFFT products are complete")
    injections, ou_files = find_truth_files(path)
    return RapidJob(
        path=path,
        jid=path.name,
        era=era,
        files=files,
        header=read_header_facts(path, files=files),
        shape=read_plane_shape(path / files.channels[CORE_CHANNELS[0]], job=path),
        channels_present=present,
        has_zogy="zogy" in complete,
        has_sfft="sfft" in complete,
        injection_files=injections,
        ou_files=ou_files,
    )


def _channel_problems(jid: str, files: formats.JobFiles, present: dict[str, bool]) -> list[JobProblem]:
    problems = [
        JobProblem(jid, files.channels[c], "error", f"missing: the {c} image is required")
        for c in CORE_CHANNELS
        if not present[c]
    ]
    complete = _complete_algorithms(present)
    for alg in formats.SUBTRACTIONS:
        missing = [c for c in formats.SUBTRACTION_CHANNELS[alg] if not present[c]]
        if not missing:
            continue
        if complete:
            severity = "warning"
            message = (
                f"missing; {alg.upper()} products missing: job will be built from {complete[0].upper()} alone"
            )
        else:
            severity, message = "error", "missing; neither the ZOGY nor the SFFT products are complete"
        problems += [JobProblem(jid, files.channels[c], severity, message) for c in missing]
    return problems


def _plane_problems(path: Path, files: formats.JobFiles, present: dict[str, bool]) -> list[JobProblem]:
    """Unreadable or truncated FITS, and full-frame channels whose shape differs from the science image's.

    Warnings, as in the build: an unreadable plane is left empty and masked, a mismatched one resized
    (the job is built, with status ``partial`` for an unreadable plane).
    """
    problems, shapes = [], {}
    for channel, name in files.channels.items():
        if not present[channel]:
            continue
        try:
            shapes[channel] = check_plane_file(path / name, job=path)
        except JobError as exc:
            message = f"{exc.reason}: channel {channel} left empty and masked"
            problems.append(JobProblem(path.name, name, "warning", message))
    frames = {c: s for c, s in shapes.items() if c not in formats.STAMP_CHANNELS}
    if frames:
        reference = CORE_CHANNELS[0] if CORE_CHANNELS[0] in frames else next(iter(frames))
        expected = frames[reference]
        for channel, shape in frames.items():
            if shape != expected:
                message = f"shape {shape} differs from {files.channels[reference]}'s {expected}: resized"
                problems.append(JobProblem(path.name, files.channels[channel], "warning", message))
    return problems


def _catalog_problems(path: Path, files: formats.JobFiles) -> list[JobProblem]:
    problems = []
    for key, name in files.catalogs.items():
        kind = key.split("_", 1)[1]  # zogy_finder -> finder
        try:
            status = peek_catalog(path / name, kind=kind, job=path)
        except JobError as exc:
            problems.append(JobProblem(path.name, name, "error", exc.reason))
            continue
        if not status:
            what = "absent" if status is None else "without rows"
            problems.append(JobProblem(path.name, name, "warning", f"catalog {what}: read as no detections"))
    return problems


def _header_problems(jid: str, header: HeaderFacts) -> list[JobProblem]:
    source = header.source or None
    problems = []
    if header.filter is None:
        problems.append(JobProblem(jid, source, "warning", "no FILTER in any header or file name"))
    elif header.filter not in formats.ZP_BAND:
        problems.append(
            JobProblem(jid, source, "warning", f"unknown filter {header.filter!r}: AB mags unknown")
        )
    if header.zptmag is None:
        problems.append(JobProblem(jid, source, "warning", "no ZPTMAG in any header: truth AB mags unknown"))
    return problems


def _truth_problems(path: Path, header: HeaderFacts) -> list[JobProblem]:
    injections, ou_files = find_truth_files(path)
    if not injections and not ou_files:
        return [JobProblem(path.name, None, "warning", "no truth files: labels will be unknown (-1)")]
    problems = []
    for file in injections + ou_files:
        try:
            if file in injections:
                read_injections(file, zptmag=header.zptmag, filter_name=header.filter, job=path)
            else:
                read_ou_index(file, zptmag=header.zptmag, job=path)
        except JobError as exc:
            problems.append(JobProblem(path.name, file.name, "error", exc.reason))
    return problems


def check_job(job_dir: str | Path) -> list[JobProblem]:
    """Every problem of a job at once (errors and warnings), each naming its file; [] for a clean job."""
    path = Path(job_dir)
    if not path.is_dir():
        return [JobProblem(path.name, None, "error", "job folder does not exist or is not a directory")]
    files = formats.FILES_BY_ERA[detect_era(path)]
    present = _channels_present(path, files)
    header = read_header_facts(path, files=files)
    problems = _channel_problems(path.name, files, present)
    problems += _plane_problems(path, files, present)
    problems += _catalog_problems(path, files)
    problems += _header_problems(path.name, header)
    problems += _truth_problems(path, header)
    for problem in problems:
        logger.debug("%s (%s)", problem, problem.severity)
    return problems
