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
import os
from pathlib import Path

from rapid_croissant import formats
from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset import layout as L
from rapid_croissant.dataset import ownership
from rapid_croissant.dataset.provenance import derived_digest, file_digest
from rapid_croissant.errors import ConfigError
from rapid_croissant.io.paths import escapes, following_symlinks, usable_file

log = logging.getLogger(__name__)


def _stat_key(p: Path) -> str:
    """Size, modification and status-change times, inode: ctime changes on every write and cannot be set
    back (unlike mtime), so an unchanged key means unchanged content."""
    st = p.stat()
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def _digest_cache(out: Path | None, jid: str) -> tuple[Path | None, dict]:
    if out is None:
        return None, {}
    path = Path(out) / L.PARTS_DIR / f"{jid}.inputs.json"
    try:
        cache = json.loads(path.read_text())
    except (OSError, ValueError):
        cache = {}
    return path, cache if isinstance(cache, dict) else {}


def job_fingerprint(job_dir: Path, cfg: BuildConfig, out: Path | None = None) -> str:
    """Hash of the science options and of every readable input file's name, size and content (xxh3).

    With ``out``, each file's digest is cached in ``.parts/<jid>.inputs.json`` under its stat key (size,
    mtime, ctime, inode): a re-run hashes only files whose key changed, so resuming costs a stat per file.
    """
    h = hashlib.sha256(json.dumps(cfg.science_dict(), sort_keys=True).encode())
    job_dir = Path(job_dir)
    if not cfg.follow_symlinks and escapes(job_dir, job_dir.parent):
        return h.hexdigest() + ":outside"  # a job folder leaving the input is not read (the gate fails it)
    cache_path, cache = _digest_cache(out, job_dir.name)
    fresh = {}
    with following_symlinks(cfg.follow_symlinks):
        for p in sorted(job_dir.iterdir()):
            if usable_file(p):
                key = _stat_key(p)
                known = cache.get(p.name)
                digest = known[1] if isinstance(known, list) and known[0] == key else file_digest(p)
                fresh[p.name] = [key, digest]
                h.update(f"{p.name}:{p.stat().st_size}:{digest}\n".encode())
            elif not p.is_dir():
                h.update(f"{p.name}:not-read\n".encode())
    if cache_path is not None and fresh != cache and cache_path.parent.is_dir():
        tmp = cache_path.with_name(f".{cache_path.stem}.tmp{os.getpid()}.json")
        tmp.write_text(json.dumps(fresh, sort_keys=True))
        os.replace(tmp, cache_path)
    return h.hexdigest()


def built_jids(out: Path) -> list[str]:
    """Jobs that have parts (a done marker) in the dataset."""
    parts = Path(out) / L.PARTS_DIR
    if not parts.is_dir():
        return []
    return sorted(p.name[: -len(".job.json")] for p in parts.glob("*.job.json"))


def job_files(out: Path, jid: str) -> list[Path]:
    """Every file the build writes for one job (tensors or the cutouts profile's frame record, catalog
    copies, parts)."""
    lay = L.Layout(out)
    files = [lay.image(jid), lay.mask(jid), lay.psf(jid), lay.frame(jid)]
    files += [lay.catalog(jid, name) for name in formats.SEED_CATALOG_FILES]
    files += [lay.part_candidates(jid), lay.part_candidates_csv(jid), lay.part_truth(jid), lay.part_job(jid)]
    files += [lay.parts_dir / f"{jid}.inputs.json", lay.part_physical(jid)]
    files += [p for prefix in L.CUTOUT_PREFIXES for p in lay.part_cutouts(jid, prefix).values()]
    files += [lay.parts_dir / f"{jid}.store.json"]  # store_assembly.store_marker
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
