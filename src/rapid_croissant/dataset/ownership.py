"""A dataset folder is owned: a marker with the inventory of the files the tool wrote; one writer at a time.

- ``claim_output`` refuses to write into the input tree (or a job folder), into a folder that contains the
  input, or into a non-empty folder that is not one of our datasets; it then writes the marker.
- ``record_inventory`` lists the files of the dataset layout that exist after a command (relative paths
  with size); ``prune`` and the temporary clean-up delete only inventoried files or our own temporaries,
  and only in the folders the tool writes (never below them, never elsewhere).
- ``dataset_lock`` is an exclusive ``filelock`` lock: a second writer gets a clear error; the lock is an OS
  lock (flock), so the lock of a killed process is released by the kernel and recovered at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from rapid_croissant.dataset import layout as L
from rapid_croissant.errors import ConfigError

log = logging.getLogger(__name__)

MARKER = ".rapid-croissant-dataset.json"
LOCK = ".rapid-croissant.lock"
#: Folders the tool writes into (relative to the dataset root; "" is the root itself).
WRITTEN_FOLDERS = (
    "",
    L.IMAGES_DIR,
    L.MASKS_DIR,
    L.PSFS_DIR,
    L.CATALOGS_DIR,
    L.CUTOUTS_DIR,
    L.FRAMES_DIR,
    L.PARTS_DIR,
)
#: Our temporaries: writers/atomic.py names them ``.<stem>.tmp<pid><suffix>``; staging folders ``.staging-*``.
_TEMPORARY = re.compile(r"^\.(.+)\.tmp\d+(\.[\w.]+)?$")
#: Files a user may have in the folder of a dataset without it being "foreign" (hidden files of tools).
_IGNORED_ENTRIES = (".DS_Store",)


class OwnershipError(ConfigError):
    """The output folder is not ours to write (names the folder and why)."""


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve(strict=False)


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def is_dataset(root: str | Path) -> bool:
    """True when ``root`` carries our marker (a readable JSON object written by rapid-croissant)."""
    try:
        data = json.loads((Path(root) / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("tool") == "rapid-croissant"


def is_legacy_dataset(root: str | Path) -> bool:
    """A dataset built before the marker existed: our build_info.json and a ``.parts`` folder."""
    root = Path(root)
    try:
        info = json.loads((root / L.BUILD_INFO).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and "rapid_croissant_version" in info and (root / L.PARTS_DIR).is_dir()


def _foreign_entries(root: Path) -> list[str]:
    try:
        return sorted(p.name for p in root.iterdir() if p.name not in _IGNORED_ENTRIES)
    except OSError:
        return []


def check_output(output_dir: str | Path, input_dir: str | Path | None = None) -> None:
    """Raise OwnershipError unless ``output_dir`` may be written as a dataset (see the module doc)."""
    out = _resolved(output_dir)
    if input_dir is not None:
        inp = _resolved(input_dir)
        if _within(out, inp):
            raise OwnershipError(f"output_dir {output_dir} is inside the input folder {input_dir}: refused")
        if _within(inp, out):
            raise OwnershipError(f"output_dir {output_dir} contains the input folder {input_dir}: refused")
    if out.exists() and not out.is_dir():
        raise OwnershipError(f"output_dir {output_dir} exists and is not a folder")
    if out.is_dir() and not is_dataset(out) and not is_legacy_dataset(out):
        foreign = _foreign_entries(out)
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise OwnershipError(
                f"output_dir {output_dir} is not empty and not a rapid-croissant dataset ({shown}): "
                "refused; choose an empty or new folder"
            )


def claim_output(output_dir: str | Path, input_dir: str | Path | None = None) -> Path:
    """Check ``output_dir`` (see :func:`check_output`), create it and write the marker if missing."""
    check_output(output_dir, input_dir)
    root = Path(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    if not is_dataset(root):
        if is_legacy_dataset(root):
            log.warning("%s: a dataset of an earlier rapid-croissant: its layout files are adopted", root)
            _write_marker(root, {"files": []})
            record_layout(root)
        else:
            _write_marker(root, {"files": []})
    return root


def read_marker(root: str | Path) -> dict:
    try:
        data = json.loads((Path(root) / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_marker(root: Path, data: dict) -> None:
    from rapid_croissant import __version__

    body = {
        "tool": "rapid-croissant",
        "version": __version__,
        **{k: v for k, v in data.items() if k not in ("tool", "version")},
    }
    tmp = root / f".{MARKER.lstrip('.')}.tmp{os.getpid()}"  # atomic: a reader never sees half a marker
    tmp.write_text(json.dumps(body, indent=1, sort_keys=True))
    os.replace(tmp, root / MARKER)


def _layout_files(root: Path) -> Iterator[Path]:
    """Files at names of the dataset layout (the folders the tool writes, one level deep)."""
    for folder in WRITTEN_FOLDERS:
        base = root / folder if folder else root
        if not base.is_dir() or base.is_symlink():
            continue
        for p in base.iterdir():
            if (
                p.is_file()
                and not p.is_symlink()
                and p.name not in (MARKER, LOCK, LOCK + ".pid")
                and not _TEMPORARY.match(p.name)
            ):
                yield p


def inventory(root: str | Path) -> set[str]:
    """The recorded inventory: relative paths of the files rapid-croissant wrote in this dataset."""
    files = read_marker(root).get("files", [])
    return {f for f in files if isinstance(f, str)} if isinstance(files, list) else set()


def _relative(root: Path, path: str | Path) -> str:
    return Path(path).relative_to(root).as_posix() if Path(path).is_absolute() else Path(path).as_posix()


def record_inventory(
    root: str | Path, written: Iterable[str | Path] | None = None, *, planned: bool = False
) -> list[str]:
    """Record what the tool owns: the files it wrote (``written``) plus those already inventoried.

    ``planned``: the files are about to be written (kept even if they do not exist yet), so that a command
    killed part-way still owns what it wrote; the next record drops the names that were never written.
    """
    root = Path(root)
    owned = set(inventory(root))
    new = {_relative(root, p) for p in written or ()}
    owned |= new

    def keep(rel: str) -> bool:
        p = root / rel
        return (p.is_file() and not p.is_symlink()) or (planned and rel in new and not p.exists())

    files = [rel for rel in sorted(owned) if keep(rel)]
    _write_marker(root, {"files": files})
    return files


def record_layout(root: str | Path) -> list[str]:
    """After a command that owns the layout (build, croissant): every layout file is ours."""
    root = Path(root)
    return record_inventory(root, [p.relative_to(root).as_posix() for p in _layout_files(root)])


def refuse_foreign(root: str | Path, paths: Iterable[str | Path]) -> None:
    """OwnershipError when one of ``paths`` exists but is not in the inventory (a file of the user)."""
    root = Path(root)
    known = inventory(root)
    foreign = [_relative(root, p) for p in paths if (root / _relative(root, p)).exists()]
    foreign = [rel for rel in foreign if rel not in known]
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise OwnershipError(
            f"{root}: {len(foreign)} file(s) the build would write already exist and were not written by "
            f"rapid-croissant ({shown}): refused; move them away"
        )


def owned(root: str | Path, path: str | Path) -> bool:
    root = Path(root)
    rel = Path(path).relative_to(root).as_posix() if Path(path).is_absolute() else str(path)
    return rel in inventory(root)


def remove_owned(root: str | Path, paths: Iterable[str | Path]) -> list[str]:
    """Delete those of ``paths`` that are inventoried (others are left, logged); returns what was deleted."""
    root, gone = Path(root), []
    for path in paths:
        p = Path(path) if Path(path).is_absolute() else root / path
        if not p.exists():
            continue
        if owned(root, p):
            p.unlink()
            gone.append(p.relative_to(root).as_posix())
        else:
            log.warning("%s: not written by rapid-croissant (not in the inventory): left in place", p)
    return gone


def clean_temporaries(root: str | Path) -> list[str]:
    """Remove our temporaries (``.<name>.tmp<pid>.<ext>``) left by a killed command, only in our folders."""
    root, removed = Path(root), []
    for folder in WRITTEN_FOLDERS:
        base = root / folder if folder else root
        if not base.is_dir() or base.is_symlink():
            continue
        for p in base.iterdir():
            if _TEMPORARY.match(p.name) and p.is_file() and not p.is_symlink():
                p.unlink(missing_ok=True)
                removed.append(p.relative_to(root).as_posix())
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted command", len(removed))
    return removed


@contextlib.contextmanager
def dataset_lock(root: str | Path) -> Iterator[None]:
    """Hold the dataset's exclusive writer lock; OwnershipError at once when another process holds it."""
    from filelock import FileLock, Timeout

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(root / LOCK), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OwnershipError(
            f"{root}: another rapid-croissant command is writing this dataset (lock {LOCK} held by "
            f"{_holder(root)}); wait for it to finish"
        ) from None
    try:
        (root / (LOCK + ".pid")).write_text(str(os.getpid()))
        yield
    finally:
        (root / (LOCK + ".pid")).unlink(missing_ok=True)
        lock.release()


def _holder(root: Path) -> str:
    try:
        return "process " + (root / (LOCK + ".pid")).read_text().strip()
    except OSError:
        return "another process"


@contextlib.contextmanager
def owned_output(output_dir: str | Path, input_dir: str | Path | None = None) -> Iterator[Path]:
    """Claim, lock and clean ``output_dir`` for one writing command; record the layout inventory after."""
    root = claim_output(output_dir, input_dir)
    with dataset_lock(root):
        clean_temporaries(root)
        yield root
