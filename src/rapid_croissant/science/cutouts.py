"""Fixed-size cutouts centred on a candidate, also at the image edge.

The seed truncated positions with ``int(x)`` (a half-pixel bias) and always padded at the bottom/right,
so edge candidates drifted off-centre (rapid_formats.md §9 item 27). Here the centre pixel is the
rounded position and the window keeps it at index ``size // 2``; the parts of the window outside the
image are filled and flagged invalid.
"""

from __future__ import annotations

import numpy as np

from rapid_croissant import formats
from rapid_croissant.science.normalize import channel_bit

__all__ = ["cutout_bounds", "extract_cutout", "extract_cutouts", "job_cutouts", "psf_plane"]


def _check_size(size: int) -> int:
    if not (isinstance(size, int | np.integer) and size > 0):
        raise ValueError(f"size must be a positive integer, got {size!r}")
    return int(size)


def cutout_bounds(x: float, y: float, *, size: int = 64) -> tuple[int, int, int, int]:
    """Window ``(row0, row1, col0, col1)`` (half-open, may reach outside the image) centred on (x, y).

    Positions are 0-based pixel centres (photutils convention), so pixel i covers [i - 0.5, i + 0.5):
    the centre pixel is ``floor(x + 0.5)``, and it sits at index ``size // 2`` of the window
    (index 32 of 64, the lower-right of the four central pixels for even sizes).
    """
    size = _check_size(size)
    if not (np.isfinite(x) and np.isfinite(y)):
        raise ValueError(f"x and y must be finite, got x={x!r}, y={y!r}")
    col = int(np.floor(x + 0.5))
    row = int(np.floor(y + 0.5))
    row0, col0 = row - size // 2, col - size // 2
    return row0, row0 + size, col0, col0 + size


def _check_image(image: np.ndarray) -> None:
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {image.shape}")


def _fill_window(
    image: np.ndarray, x: float, y: float, size: int, cutout: np.ndarray, valid: np.ndarray
) -> None:
    """Copy the part of the window inside the image into ``cutout`` and mark it in ``valid``."""
    row0, row1, col0, col1 = cutout_bounds(x, y, size=size)
    height, width = image.shape[:2]
    r0, r1 = max(row0, 0), min(row1, height)
    c0, c1 = max(col0, 0), min(col1, width)
    if r0 >= r1 or c0 >= c1:
        return  # the window lies wholly outside the image
    # Only the window is sliced, so a memmap reads just these rows.
    cutout[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = image[r0:r1, c0:c1]
    valid[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = True


def extract_cutout(
    image: np.ndarray, x: float, y: float, *, size: int = 64, fill: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """A float32 ``(size, size[, C])`` cutout centred on (x, y) and its ``(size, size)`` validity mask.

    Pixels outside the image hold ``fill`` and are False in the mask; the candidate pixel is always at
    index ``(size // 2, size // 2)``.
    """
    size = _check_size(size)
    image = np.asanyarray(image)  # a memmap stays a memmap: nothing is read yet
    _check_image(image)
    cutout = np.full((size, size, *image.shape[2:]), fill, dtype=np.float32)
    valid = np.zeros((size, size), dtype=bool)
    _fill_window(image, x, y, size, cutout, valid)
    return cutout, valid


def extract_cutouts(
    image: np.ndarray, xs: np.ndarray, ys: np.ndarray, *, size: int = 64, fill: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Batched :func:`extract_cutout`: ``(N, size, size[, C])`` float32 cutouts and ``(N, size, size)``
    masks."""
    size = _check_size(size)
    image = np.asanyarray(image)
    _check_image(image)
    xs = np.asarray(xs, dtype=np.float64).ravel()
    ys = np.asarray(ys, dtype=np.float64).ravel()
    if xs.shape != ys.shape:
        raise ValueError(f"xs and ys must have the same length, got {xs.size} and {ys.size}")
    cutouts = np.full((xs.size, size, size, *image.shape[2:]), fill, dtype=np.float32)
    valid = np.zeros((xs.size, size, size), dtype=bool)
    for k in range(xs.size):
        _fill_window(image, xs[k], ys[k], size, cutouts[k], valid[k])
    return cutouts, valid


def psf_plane(stamp: np.ndarray, size: int) -> np.ndarray:
    """The stamp on a zero ``size x size`` plane, its centre pixel ``n // 2`` at ``size // 2`` (cropped if
    larger)."""
    plane = np.zeros((size, size), dtype=np.float32)
    c = size // 2
    rows, cols = stamp.shape
    r0, c0 = c - rows // 2, c - cols // 2  # window of the stamp on the plane, may reach outside
    pr0, pc0 = max(r0, 0), max(c0, 0)
    pr1, pc1 = min(r0 + rows, size), min(c0 + cols, size)
    plane[pr0:pr1, pc0:pc1] = stamp[pr0 - r0 : pr1 - r0, pc0 - c0 : pc1 - c0]
    return plane


def job_cutouts(
    image: np.ndarray,
    mask: np.ndarray | None,
    psf: np.ndarray | None,
    xs,
    ys,
    *,
    channels: tuple[str, ...],
    size: int = 64,
) -> np.ndarray:
    """``(N, len(channels) + 1, size, size)`` float32 cutouts of one job: ``channels`` then the validity
    channel.

    ``image`` is the (H, W, 9) tensor (a memmap is fine), ``mask`` its uint16 NaN bit mask (None: all finite),
    ``psf`` the native stamp (None: the PSF channel stays 0).
    """
    index = [formats.CHANNELS.index(c) for c in channels]
    cutouts, inside = extract_cutouts(image, xs, ys, size=size)
    out = np.zeros((len(inside), len(channels) + 1, size, size), dtype=np.float32)
    out[:, :-1] = np.moveaxis(cutouts[..., index], -1, 1)
    valid = inside.copy()
    if mask is not None:
        bits, _ = extract_cutouts(mask, xs, ys, size=size)
        bits = bits.astype(np.uint16)
        for k, name in enumerate(channels):
            if name in formats.STAMP_CHANNELS:
                continue
            bad = (bits & channel_bit(name)) != 0
            out[:, k][bad] = 0.0
            valid &= ~bad
    if "psf" in channels:
        out[:, channels.index("psf")] = 0.0 if psf is None else psf_plane(np.asarray(psf), size)
    out[:, -1] = valid
    return out
