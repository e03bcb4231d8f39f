"""Find RAPID job folders under an input directory and tell which product era a job belongs to.

Only folders named exactly ``jid<digits>`` are jobs; neighbours such as ``jid_backup_old/``, the file
``jid_list.txt`` or ``calibration/`` are clutter (rapid_formats.md, defect 17).
"""

from __future__ import annotations

import logging
from pathlib import Path

from rapid_croissant import formats
from rapid_croissant.errors import ConfigError

logger = logging.getLogger(__name__)


def _jid_number(path: Path) -> int:
    return int("".join(ch for ch in path.name if ch.isdigit()))


def discover_jobs(input_dir: str | Path) -> list[Path]:
    """Job folders directly under ``input_dir``, sorted by their job number (jid2 before jid10)."""
    root = Path(input_dir)
    if not root.exists():
        raise ConfigError(f"input_dir {str(root)!r} does not exist")
    if not root.is_dir():
        raise ConfigError(f"input_dir {str(root)!r} is not a directory")
    jobs = [p for p in root.iterdir() if p.is_dir() and formats.JOB_DIR_PATTERN.match(p.name)]
    skipped = sum(1 for p in root.iterdir() if p.name.startswith("jid")) - len(jobs)
    if skipped:
        logger.debug("%s: %d jid-like entries are not job folders and were skipped", root, skipped)
    return sorted(jobs, key=_jid_number)


def _era_markers(era: str) -> tuple[str, ...]:
    """File names only the given era has: the ZOGY difference products and catalogs (§1)."""
    other = formats.ERA_2025 if era == formats.ERA_2026 else formats.ERA_2026
    theirs = set(formats.FILES_BY_ERA[other].channels.values()) | set(
        formats.FILES_BY_ERA[other].catalogs.values()
    )
    mine = formats.FILES_BY_ERA[era]
    names = [*mine.channels.values(), *mine.catalogs.values()]
    return tuple(name for name in names if name not in theirs)


def era_evidence(job_dir: str | Path) -> dict[str, list[str]]:
    """For each era, the era-specific product names present in ``job_dir`` (regular files inside it)."""
    from rapid_croissant.io.paths import usable_file

    job = Path(job_dir)
    return {era: [n for n in _era_markers(era) if usable_file(job / n)] for era in formats.ERAS}


def detect_era(job_dir: str | Path) -> str:
    """The era with the most era-specific products in the job (ties: the one whose ZOGY difference exists).

    One stray file of the other era (a copied ``zogy_diffimage_masked.txt`` in a 2025 job) cannot flip
    the decision; an undecidable job is 2025 and :func:`era_evidence` lets ``check_job`` report it.
    """
    evidence = era_evidence(job_dir)
    n25, n26 = len(evidence[formats.ERA_2025]), len(evidence[formats.ERA_2026])
    if n25 != n26:
        return formats.ERA_2025 if n25 > n26 else formats.ERA_2026
    diff26 = formats.FILES_2026.channels["zogy_diff"]
    return formats.ERA_2026 if diff26 in evidence[formats.ERA_2026] else formats.ERA_2025
