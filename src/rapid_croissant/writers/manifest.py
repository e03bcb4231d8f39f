"""Manifest tables of the files Croissant cannot describe one by one: tensors and catalog copies.

mlcroissant cannot read loose ``.npy`` files, and a FileSet carries no checksum, so every tensor
(``images/``, ``psfs/``, ``masks/``) and every catalog copy gets a row in a Parquet manifest with its path,
sha256 and size (plus shape, dtype and channel order for tensors). The Croissant file describes the
manifests as record sets; ``dataset/validate.py`` checks them against the files. What the tables hold
(tensor kinds, Arrow schemas, the checksum) is described in ``dataset/manifests.py``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rapid_croissant.dataset.layout import Layout
from rapid_croissant.dataset.manifests import (
    CATALOGS_SCHEMA,
    CUTOUT_KINDS,
    IMAGES_SCHEMA,
    TENSOR_KINDS,
    sha256_file,
)
from rapid_croissant.writers.atomic import atomic_path

__all__ = [
    "catalog_rows",
    "tensor_rows",
    "write_manifests",
    "write_table_atomic",
]

log = logging.getLogger(__name__)

_CATALOG_NAME = re.compile(r"^(?P<jid>jid\d+)_(?P<name>.+)$")
#: Catalog kinds by file-name ending, most specific first.
_CATALOG_KINDS = (
    ("_psfcat_finder.txt", "finder"),
    ("_sepsfcat.txt", "sepsfcat"),
    ("_psfcat.txt", "psfcat"),
    (".txt", "sextractor"),
)


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


def tensor_rows(dataset_dir: str | Path) -> list[dict]:
    """One row per ``.npy`` tensor of the dataset: images, PSF stamps, masks, then the cutout store."""
    layout = Layout(dataset_dir)
    root = layout.root
    rows = []
    for kind, (folder, channels, normalisation) in TENSOR_KINDS.items():
        for file in sorted((root / folder).glob("*.npy")):
            rows.append(_tensor_row(root, file, kind, channels, normalisation))
    for kind, (pattern, channels, normalisation) in CUTOUT_KINDS.items():
        for file in sorted(layout.cutouts_dir.glob(pattern)):
            rows.append({**_tensor_row(root, file, kind, channels, normalisation), "jid": ""})  # per split
    return rows


def _catalog_kind(name: str) -> tuple[str, str]:
    """(algorithm, kind) of a RAPID catalog from its original file name."""
    algorithm = "sfft" if name.startswith("sfft") else "zogy"
    kind = next((k for ending, k in _CATALOG_KINDS if name.endswith(ending)), "other")
    return algorithm, kind


def catalog_rows(dataset_dir: str | Path) -> list[dict]:
    """One row per file in ``catalogs/`` (named ``<jid>_<original name>``), sorted by path."""
    layout = Layout(dataset_dir)
    root = layout.root
    rows = []
    for file in sorted(p for p in layout.catalogs_dir.glob("*") if p.is_file()):
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
    layout = Layout(dataset_dir)
    images = pa.Table.from_pylist(tensor_rows(layout.root), schema=IMAGES_SCHEMA)
    catalogs = pa.Table.from_pylist(catalog_rows(layout.root), schema=CATALOGS_SCHEMA)
    written = {
        "images": write_table_atomic(images, layout.images_manifest),
        "catalogs": write_table_atomic(catalogs, layout.catalogs_manifest),
    }
    log.info("manifests: %d tensors, %d catalog files in %s", images.num_rows, catalogs.num_rows, layout.root)
    return written
