"""RAPID jobs behind an fsspec URL (``s3://bucket/prefix/``, ``gs://``, ``https://``): listing and staging.

Only what a local build reads is read: the regular objects directly under a ``jid<N>/`` prefix (no
sub-prefixes, no recursion, no names that could leave the job's folder) whose names a build reads (the
products and catalogs of either era, truth files, science images; see ``build_input``). Each object is
copied to a local scratch folder with retries; the caller builds the job from there and removes the
folder. Credentials come from fsspec's usual sources (for S3: the AWS environment variables, ``~/.aws``
profiles, instance roles), ``anon`` reads a public bucket, and ``storage_options`` go to the filesystem
unchanged.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from rapid_croissant import formats
from rapid_croissant.errors import ConfigError, JobError
from rapid_croissant.io.negative import negative_name

log = logging.getLogger(__name__)

#: Attempts per object (transient errors only: a missing object or a denied request is not retried).
ATTEMPTS = 3
#: An object name a job may hold: a plain file name, never a path, "." or "..".
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
#: Metadata that changes when an object's content changes, best first (S3 ETag, GCS md5/crc, HTTP...).
_VERSION_KEYS = (
    "ETag",
    "etag",
    "md5Hash",
    "crc32c",
    "VersionId",
    "LastModified",
    "Last-Modified",
    "mtime",
    "updated",
)


@dataclass(frozen=True)
class RemoteObject:
    name: str
    size: int  # -1 when the store does not say
    version: str  # ETag or another content marker ("" when the store gives none)


def filesystem(url: str, storage_options: dict | None = None, anon: bool = False):
    """(fsspec filesystem, path without protocol) of ``url``; a ConfigError names a protocol fsspec lacks."""
    import fsspec

    opts = dict(storage_options or {})
    if anon:
        opts["anon"] = True
    try:
        return fsspec.core.url_to_fs(url, **opts)
    except (ImportError, ValueError, TypeError) as err:
        raise ConfigError(f"{url}: cannot open this location ({type(err).__name__}: {err})") from None


def describe(err: BaseException) -> str:
    """A one-line reason for a storage error (no traceback, no credentials)."""
    if isinstance(err, FileNotFoundError):
        return "not found (no such bucket, prefix or object)"
    if isinstance(err, PermissionError):
        return f"access denied ({err})"
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {text}"[:300]


def _known_names() -> frozenset[str]:
    names = set(formats.SEED_CATALOG_FILES)
    for files in formats.FILES_BY_ERA.values():
        names |= set(files.channels.values()) | set(files.catalogs.values()) | set(files.optional)
        for alg in formats.SUBTRACTIONS:  # RAPID's negative (fading) catalogs, read when present
            names |= {negative_name(files.catalogs[f"{alg}_{kind}"]) for kind in ("finder", "psfcat")}
    return frozenset(names)


_KNOWN = _known_names()
_PATTERNS = (formats.SCIENCE_HEADER_PATTERN, formats.INJECTION_PATTERN, formats.OU_INDEX_PATTERN)


def build_input(name: str) -> bool:
    """True for a file name a build may read (others, e.g. logs or coverage maps, are never fetched)."""
    return name in _KNOWN or any(p.match(name) for p in _PATTERNS)


def _name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def list_jobs(fs, root: str, url: str) -> list[str]:
    """Paths of the ``jid<N>`` prefixes directly under ``root``, sorted by job number."""
    try:
        entries = fs.ls(root.rstrip("/"), detail=True, refresh=True)
    except Exception as err:  # noqa: BLE001 - any storage failure becomes one clear line
        raise ConfigError(f"cannot list {url}: {describe(err)}") from None
    jobs = [
        e["name"]
        for e in entries
        if e.get("type") == "directory" and formats.JOB_DIR_PATTERN.match(_name(e["name"]))
    ]
    return sorted(jobs, key=lambda p: int(_name(p)[3:]))


def list_objects(fs, job_path: str) -> list[RemoteObject]:
    """The regular objects directly under a job prefix (sub-prefixes and unsafe names are skipped)."""
    jid = _name(job_path)
    try:
        entries = fs.ls(job_path.rstrip("/"), detail=True, refresh=True)
    except Exception as err:  # noqa: BLE001
        raise JobError(jid, None, f"cannot list the job's objects: {describe(err)}") from None
    out = []
    for e in entries:
        name = _name(e["name"])
        if e.get("type") != "file" or not build_input(name):
            continue
        if not _SAFE_NAME.match(name):
            log.warning("%s/%s: object name not allowed as a file name: skipped", jid, name)
            continue
        if e.get("size") is None:  # listings of HTTP servers: ask for the size and date (HEAD)
            e = _info(fs, e, jid, name)
        version = next((str(e[k]) for k in _VERSION_KEYS if e.get(k) not in (None, "")), "")
        size = e.get("size")
        out.append(RemoteObject(name, -1 if size is None else int(size), version))
    return sorted(out, key=lambda o: o.name)


def _info(fs, entry: dict, jid: str, name: str) -> dict:
    try:
        return {**entry, **fs.info(entry["name"])}
    except Exception as err:  # noqa: BLE001
        raise JobError(jid, name, f"cannot read the object's metadata: {describe(err)}") from None


def _transient(err: BaseException) -> bool:
    return not isinstance(err, FileNotFoundError | PermissionError | IsADirectoryError)


def fetch_object(fs, job_path: str, obj: RemoteObject, dest_dir: Path, *, attempts: int = ATTEMPTS) -> Path:
    """Copy one object into ``dest_dir`` (retrying transient errors); JobError naming the job and object."""
    jid = _name(job_path)
    dest = dest_dir / obj.name
    src = f"{job_path.rstrip('/')}/{obj.name}"
    for attempt in range(1, attempts + 1):
        try:
            fs.get_file(src, str(dest))
            break
        except Exception as err:  # noqa: BLE001
            if attempt == attempts or not _transient(err):
                raise JobError(jid, obj.name, f"cannot read the object: {describe(err)}") from None
            log.debug("%s/%s: attempt %d failed (%s), retrying", jid, obj.name, attempt, describe(err))
            time.sleep(0.5 * 2 ** (attempt - 1))
    got = dest.stat().st_size if dest.is_file() else -1
    if got != obj.size and obj.size >= 0:
        raise JobError(jid, obj.name, f"read {got} bytes of an object listed with {obj.size}")
    return dest
