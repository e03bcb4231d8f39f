"""Manifest tables of the files Croissant cannot describe one by one: tensors and catalog copies.

mlcroissant cannot read loose ``.npy`` files, and a FileSet carries no checksum, so every tensor
(``images/``, ``psfs/``, ``masks/``) and every catalog copy gets a row in a Parquet manifest with its path,
sha256 and size (plus shape, dtype and channel order for tensors). The Croissant file describes the
manifests as record sets; ``build/validate.py`` checks them against the files.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rapid_croissant import schema
from rapid_croissant.dataset.integrity import require_inside
from rapid_croissant.writers.atomic import atomic_path

__all__ = [
    "CATALOGS_MANIFEST",
    "IMAGES_MANIFEST",
    "TENSOR_KINDS",
    "catalog_rows",
    "sha256_file",
    "tensor_rows",
    "write_manifests",
    "write_table_atomic",
]

log = logging.getLogger(__name__)

IMAGES_MANIFEST = "images-manifest.parquet"
CATALOGS_MANIFEST = "catalogs-manifest.parquet"

#: kind -> (folder, channel names, normalisation) of the tensors listed in the images manifest.
TENSOR_KINDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "image": (
        schema.IMAGES_DIR,
        schema.CHANNELS,
        "each channel scaled by its own ZScale interval (astropy ZScaleInterval) and clipped to [0, 1]",
    ),
    "psf": (schema.PSFS_DIR, ("psf",), "none: native ZOGY difference-image PSF stamp"),
    "mask": (
        schema.MASKS_DIR,
        schema.CHANNELS,
        "none: bit k set where channel k (in the listed order) was NaN or absent",
    ),
}

IMAGES_SCHEMA = pa.schema(
    [(name, pa.string()) for name in ("kind", "jid", "path", "sha256")]
    + [("size_bytes", pa.int64())]
    + [(name, pa.string()) for name in ("shape", "dtype", "channels", "normalisation")]
)
CATALOGS_SCHEMA = pa.schema(
    [(name, pa.string()) for name in ("jid", "name", "path", "sha256")]
    + [("size_bytes", pa.int64())]
    + [(name, pa.string()) for name in ("algorithm", "kind")]
)

_CATALOG_NAME = re.compile(r"^(?P<jid>jid\d+)_(?P<name>.+)$")
#: Catalog kinds by file-name ending, most specific first.
_CATALOG_KINDS = (
    ("_psfcat_finder.txt", "finder"),
    ("_sepsfcat.txt", "sepsfcat"),
    ("_psfcat.txt", "psfcat"),
    (".txt", "sextractor"),
)


def sha256_file(path: str | Path, *, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (tensors can be hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def write_table_atomic(table: pa.Table, path: str | Path) -> Path:
    """Write ``table`` as Parquet through a temporary file in the same folder, then rename."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def _tensor_row(root: Path, file: Path, kind: str, channels: tuple[str, ...], normalisation: str) -> dict:
    array = np.load(file, mmap_mode="r", allow_pickle=False)
    return {
        "kind": kind,
        "jid": file.stem,
        "path": file.relative_to(root).as_posix(),
        "sha256": sha256_file(file),
        "size_bytes": file.stat().st_size,
        "shape": ",".join(str(n) for n in array.shape),
        "dtype": str(array.dtype),
        "channels": ",".join(channels),
        "normalisation": normalisation,
    }


#: The optional cutout store (``build --cutouts``): one array per split, rows in candidates-<split> order.
CUTOUT_DIR = "cutouts"
CUTOUT_KINDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "cutouts": (
        "cutouts-*.npy",
        schema.CHANNELS,
        "as the image tensors, (N, 9, 64, 64) per split; a uint8 store "
        "holds the [0, 1] values x 255; the psf channel is the native stamp centred on the candidate",
    ),
    "cutout_valid": (
        "valid-*.npy",
        ("zogy", "sfft", "both"),
        "none: (N, 3, 64, 8) validity bits packed along x, one plane per loader channel set",
    ),
}


def tensor_rows(dataset_dir: str | Path) -> list[dict]:
    """One row per ``.npy`` tensor of the dataset: images, PSF stamps, masks, then the cutout store."""
    root = Path(dataset_dir)
    rows = []
    for kind, (folder, channels, normalisation) in TENSOR_KINDS.items():
        for file in sorted((root / folder).glob("*.npy")):
            require_inside(root, file)  # a symlink to a file elsewhere is never hashed or published
            rows.append(_tensor_row(root, file, kind, channels, normalisation))
    for kind, (pattern, channels, normalisation) in CUTOUT_KINDS.items():
        for file in sorted((root / CUTOUT_DIR).glob(pattern)):
            require_inside(root, file)
            rows.append({**_tensor_row(root, file, kind, channels, normalisation), "jid": ""})  # per split
    return rows


def _catalog_kind(name: str) -> tuple[str, str]:
    """(algorithm, kind) of a RAPID catalog from its original file name."""
    algorithm = "sfft" if name.startswith("sfft") else "zogy"
    kind = next((k for ending, k in _CATALOG_KINDS if name.endswith(ending)), "other")
    return algorithm, kind


def catalog_rows(dataset_dir: str | Path) -> list[dict]:
    """One row per file in ``catalogs/`` (named ``<jid>_<original name>``), sorted by path."""
    root = Path(dataset_dir)
    rows = []
    for file in sorted(p for p in (root / schema.CATALOGS_DIR).glob("*") if p.is_file()):
        require_inside(root, file)
        match = _CATALOG_NAME.match(file.name)
        if match is None:
            log.warning("catalogs/%s: not named <jid>_<catalog>, listed without a job", file.name)
        jid, name = (match["jid"], match["name"]) if match else ("", file.name)
        algorithm, kind = _catalog_kind(name)
        rows.append(
            {
                "jid": jid,
                "name": name,
                "path": file.relative_to(root).as_posix(),
                "sha256": sha256_file(file),
                "size_bytes": file.stat().st_size,
                "algorithm": algorithm,
                "kind": kind,
            }
        )
    return rows


def write_manifests(dataset_dir: str | Path) -> dict[str, Path]:
    """Hash every tensor and catalog copy on disk and write the two manifest tables.

    Returns ``{"images": path, "catalogs": path}``.
    """
    root = Path(dataset_dir)
    images = pa.Table.from_pylist(tensor_rows(root), schema=IMAGES_SCHEMA)
    catalogs = pa.Table.from_pylist(catalog_rows(root), schema=CATALOGS_SCHEMA)
    written = {
        "images": write_table_atomic(images, root / IMAGES_MANIFEST),
        "catalogs": write_table_atomic(catalogs, root / CATALOGS_MANIFEST),
    }
    log.info("manifests: %d tensors, %d catalog files in %s", images.num_rows, catalogs.num_rows, root)
    return written
