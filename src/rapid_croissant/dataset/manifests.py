"""What the two manifest tables of a dataset hold: the tensor kinds, the Arrow schemas and the checksum.

Every tensor (``images/``, ``psfs/``, ``masks/``, the cutout store) gets a row in the images manifest and
every catalog copy a row in the catalogs manifest, with its relative path, sha256 and size (plus shape,
dtype and channel order for tensors). The writer is ``writers/manifest.py``; ``dataset/validate.py``
checks them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa

from rapid_croissant.dataset import layout, schema
from rapid_croissant.dataset.cutouts import VALID_SETS

__all__ = ["CATALOGS_SCHEMA", "CUTOUT_KINDS", "IMAGES_SCHEMA", "TENSOR_KINDS", "sha256_file"]

#: kind -> (folder, channel names, normalisation) of the tensors listed in the images manifest.
TENSOR_KINDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "image": (
        layout.IMAGES_DIR,
        schema.CHANNELS,
        "each channel scaled by its own ZScale interval (astropy ZScaleInterval) and clipped to [0, 1]",
    ),
    "psf": (layout.PSFS_DIR, ("psf",), "none: native ZOGY difference-image PSF stamp"),
    "mask": (
        layout.MASKS_DIR,
        schema.CHANNELS,
        "none: bit k set where channel k (in the listed order) was NaN or absent",
    ),
}

#: The optional cutout store (``build --cutouts``): kind -> (file pattern in ``cutouts/``, channels,
#: normalisation); one array per split, rows in candidates-<split> order.
CUTOUT_KINDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "cutouts": (
        layout.CUTOUTS_FILE.format(split="*"),
        schema.CHANNELS,
        "as the image tensors, (N, 9, 64, 64) per split; a uint8 store "
        "holds the [0, 1] values x 255; the psf channel is the native stamp centred on the candidate",
    ),
    "cutout_valid": (
        layout.CUTOUT_VALID_FILE.format(split="*"),
        VALID_SETS,
        "none: (N, 3, 64, 8) validity bits packed along x, one plane per loader channel set",
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


def sha256_file(path: str | Path, *, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (tensors can be hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
