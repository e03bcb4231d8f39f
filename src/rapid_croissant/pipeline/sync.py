"""Keep the published dataset in step with its input: content fingerprints, removed jobs, ``--prune``.

A job's fingerprint hashes the science options and, for every file of the job folder, its name, size and
content (xxh3-128, ~3 GB/s: about 0.3 s for a 4089² job's ~1 GB of products, see BENCHMARKS.md), so an edit
that keeps a file's size and modification time is still noticed. A job whose parts are in the dataset but
whose folder is no longer in the input makes the build refuse, naming ``--prune``; with ``--prune`` its
files (inventoried ones only) are removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from rapid_croissant import formats
from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset import layout as L
from rapid_croissant.dataset import ownership
from rapid_croissant.dataset.provenance import derived_digest, file_digest
from rapid_croissant.errors import ConfigError
from rapid_croissant.io.paths import escapes, following_symlinks, usable_file

log = logging.getLogger(__name__)


def job_fingerprint(job_dir: Path, cfg: BuildConfig) -> str:
    """Hash of the science options and of every readable input file's name, size and content."""
    h = hashlib.sha256(json.dumps(cfg.science_dict(), sort_keys=True).encode())
    if not cfg.follow_symlinks and escapes(job_dir, Path(job_dir).parent):
        return h.hexdigest() + ":outside"  # a job folder leaving the input is not read (the gate fails it)
    with following_symlinks(cfg.follow_symlinks):
        for p in sorted(Path(job_dir).iterdir()):
            if usable_file(p):
                h.update(f"{p.name}:{p.stat().st_size}:{file_digest(p)}\n".encode())
            elif not p.is_dir():
                h.update(f"{p.name}:not-read\n".encode())
    return h.hexdigest()


def built_jids(out: Path) -> list[str]:
    """Jobs that have parts (a done marker) in the dataset."""
    parts = Path(out) / L.PARTS_DIR
    if not parts.is_dir():
        return []
    return sorted(p.name[: -len(".job.json")] for p in parts.glob("*.job.json"))


def job_files(out: Path, jid: str) -> list[Path]:
    """Every file the build writes for one job (tensors, catalog copies, parts)."""
    lay = L.Layout(out)
    files = [lay.image(jid), lay.mask(jid), lay.psf(jid)]
    files += [lay.catalog(jid, name) for name in formats.SEED_CATALOG_FILES]
    files += [lay.part_candidates(jid), lay.part_truth(jid), lay.part_job(jid)]
    return files


def reconcile_removed(out: Path, input_jids: list[str], *, prune: bool) -> list[str]:
    """Jobs built in ``out`` but gone from the input: refused (names --prune), or removed with ``prune``."""
    gone = sorted(set(built_jids(out)) - set(input_jids))
    if not gone:
        return []
    if not prune:
        shown = ", ".join(gone[:5]) + (", ..." if len(gone) > 5 else "")
        raise ConfigError(
            f"{out}: {len(gone)} job(s) in the dataset are no longer in the input ({shown}); "
            "rerun with --prune to remove them from the dataset, or restore their folders"
        )
    for jid in gone:
        removed = ownership.remove_owned(out, job_files(out, jid))
        log.warning("%s: removed from the dataset (--prune): %d file(s)", jid, len(removed))
    return gone


def _store_meta(out: Path) -> dict:
    try:
        meta = json.loads(L.Layout(out).cutout_meta.read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def has_cutout_store(out: Path) -> bool:
    return L.Layout(out).cutout_meta.is_file()


def cutout_store_stale(out: Path) -> bool:
    """True when a cutout store exists but was made from other candidate tables than the published ones."""
    return has_cutout_store(out) and _store_meta(out).get("made_from") != derived_digest(out)


def cutout_dtype(out: Path, cfg: BuildConfig) -> str:
    """The dtype of a store rebuilt because it went stale: the store's own, unless --cutouts asks."""
    if cfg.cutouts:
        return cfg.cutout_dtype
    dtype = _store_meta(out).get("dtype")
    return dtype if dtype in ("float32", "float16", "uint8") else cfg.cutout_dtype
