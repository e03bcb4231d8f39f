"""RAPID jobs behind an fsspec URL (``s3://bucket/prefix/``, ``gs://``, ``https://``): listing and staging.

Only what a local build reads is read: the regular objects directly under a ``jid<N>/`` prefix (no
sub-prefixes, no recursion, no names that could leave the job's folder) whose names a build reads (the
products and catalogs of either era, truth files, science images; see ``build_input``). Each object is
copied to a local scratch folder with retries; the caller builds the job from there and removes the
folder. An S3 object is read as one streamed request (s3fs's split download first opens a whole-object
request and drops it: measured on moto, 2.5x the CPU of one stream); ``max_concurrency`` in the storage
options restores it. The science image matched by ``formats.SCIENCE_HEADER_PATTERN`` is read by a build
only for its primary header: only its header blocks are copied (see ``fetch_object``). Credentials come
from fsspec's usual sources (for S3: the AWS environment variables, ``~/.aws`` profiles, instance roles),
``anon`` reads a public bucket, and ``storage_options`` go to the filesystem unchanged.
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

#: Options given to a filesystem unless the storage options set them: one streamed GET per S3 object.
_STREAM_DEFAULTS = {"s3": {"max_concurrency": 1}, "s3a": {"max_concurrency": 1}}
#: A FITS header is whole 2880-byte blocks of 80-byte cards; it ends with the block holding the END card.
FITS_BLOCK, _CARD = 2880, 80
#: Bytes of a FITS header asked for at once (10 blocks: RAPID's headers with their WCS fit in 2).
HEADER_READ = 10 * FITS_BLOCK
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
    opts = _STREAM_DEFAULTS.get(fsspec.core.split_protocol(url)[0] or "", {}) | opts
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


def header_only(obj: RemoteObject) -> bool:
    """True for an object a build reads only for its primary header (the science image's facts)."""
    return obj.size >= 0 and bool(formats.SCIENCE_HEADER_PATTERN.match(obj.name))


def _header_end(data: bytes) -> int | None:
    """Bytes up to the end of the FITS block holding the first END card, or None when there is none yet.

    A card ``END`` followed by blanks is the one astropy's reader stops at (or after an earlier, malformed
    END): a copy cut here gives astropy the same header and the same data offset as the whole file."""
    for at in range(0, len(data) - _CARD + 1, _CARD):
        card = data[at : at + _CARD]
        if card.startswith(b"END") and not card[3:].strip(b" "):
            return (at // FITS_BLOCK + 1) * FITS_BLOCK
    return None


def _fetch_header(fs, src: str, dest: Path, size: int) -> int:
    """Copy the header blocks of a FITS object (the whole object when it has no END card); its length."""
    data = b""
    while len(data) < size:
        want = min(HEADER_READ, size - len(data))
        chunk = fs.cat_file(src, start=len(data), end=len(data) + want)
        if len(chunk) != want:  # a server that ignores ranges sends the whole object: keep it whole
            data = chunk if len(chunk) > want else data + chunk
            break
        data += chunk
        if (end := _header_end(data)) is not None:
            data = data[:end]
            break
    dest.write_bytes(data)
    return len(data) if _header_end(data) == len(data) else size


def _copy(fs, src: str, obj: RemoteObject, dest: Path) -> int:
    """Copy one object (only its header blocks for ``header_only``); the number of bytes it must have."""
    if header_only(obj):
        return _fetch_header(fs, src, dest, obj.size)
    fs.get_file(src, str(dest))
    return obj.size


def fetch_object(fs, job_path: str, obj: RemoteObject, dest_dir: Path, *, attempts: int = ATTEMPTS) -> Path:
    """Copy one object into ``dest_dir`` (retrying transient errors); JobError naming the job and object.

    A ``header_only`` object is copied up to the end of the 2880-byte block holding its END card (a build
    reads its header only, never its data: no check compares its length with its header)."""
    jid = _name(job_path)
    dest = dest_dir / obj.name
    src = f"{job_path.rstrip('/')}/{obj.name}"
    for attempt in range(1, attempts + 1):
        try:
            expected = _copy(fs, src, obj, dest)
            break
        except Exception as err:  # noqa: BLE001
            if attempt == attempts or not _transient(err):
                raise JobError(jid, obj.name, f"cannot read the object: {describe(err)}") from None
            log.debug("%s/%s: attempt %d failed (%s), retrying", jid, obj.name, attempt, describe(err))
            time.sleep(0.5 * 2 ** (attempt - 1))
    got = dest.stat().st_size if dest.is_file() else -1
    if got != expected and expected >= 0:
        raise JobError(jid, obj.name, f"read {got} bytes of an object listed with {obj.size}")
    return dest
