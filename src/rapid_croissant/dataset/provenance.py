"""What a derived product was made from: content digests (xxh3-128) of files and of the published tables.

The cutout store records ``made_from`` = :func:`derived_digest` of the candidate tables it was cut for; a
store whose record differs from the published tables is stale: the build rebuilds it, the loader refuses
it and ``validate`` reports it.
"""

from __future__ import annotations

from pathlib import Path

from rapid_croissant.dataset import layout as L

_CHUNK = 1 << 22


def file_digest(path: str | Path) -> str:
    """xxh3-128 of a file's content, hashed straight from a read-only memory map of it (no copy into the
    process: 0.13 s for a 4089² job's 0.78 GB in the page cache, against 0.17-0.21 s read in 4 MB chunks)."""
    import mmap

    import xxhash

    h = xxhash.xxh3_128()
    with Path(path).open("rb") as fh:
        try:
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
                h.update(view)
        except (ValueError, OSError):  # an empty file, or one that cannot be mapped (a pipe, some FUSE)
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    return h.hexdigest()


def derived_digest(root: str | Path) -> str:
    """Digest of the per-split candidate tables: what the cutout store is made from."""
    import xxhash

    lay = L.Layout(root)
    h = xxhash.xxh3_128()
    for split in L.SPLITS:
        path = lay.candidates_split(split)
        h.update(f"{split}:{file_digest(path) if path.is_file() else 'absent'}\n".encode())
    return h.hexdigest()
