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


def _era_2026_markers() -> tuple[str, ...]:
    """File names that exist only in the 2026 era: the zogy_-prefixed ZOGY products (§1)."""
    old = set(formats.FILES_2025.channels.values()) | set(formats.FILES_2025.catalogs.values())
    new = [formats.FILES_2026.channels["zogy_diff"], *formats.FILES_2026.catalogs.values()]
    return tuple(name for name in new if name not in old)


def detect_era(job_dir: str | Path) -> str:
    """``formats.ERA_2026`` when the job holds zogy_-prefixed ZOGY products, else ``formats.ERA_2025``."""
    job = Path(job_dir)
    if any((job / name).is_file() for name in _era_2026_markers()):
        return formats.ERA_2026
    return formats.ERA_2025
