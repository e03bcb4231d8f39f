"""Per-plane normalisation of the image channels, resizing of small planes and the NaN bit mask.

The seed scales every channel with an IRAF ZScale interval on ``nan_to_num`` data and clips to [0, 1]
(rapid_formats.md §9 item 9). We keep that behaviour, for compatibility, but without its defects: the
output stays float32 (item 21: numpy-2 promotion doubled every tensor), the full plane is never copied
to float64, and the pixels that were NaN are recorded in a bit mask instead of being lost.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
from astropy.visualization import ZScaleInterval
from scipy import ndimage

from rapid_croissant.formats import CHANNELS, STAMP_CHANNELS

__all__ = ["channel_bit", "nan_mask_bits", "resize_to_shape", "zscale_limits", "zscale_normalize_into"]

#: Elements per block when a full plane is processed piecewise (bounds temporary memory to a few MB).
_BLOCK_ELEMENTS = 1 << 18


def _row_blocks(n_rows: int, row_elements: int) -> Iterator[slice]:
    """Slices over axis 0 holding about ``_BLOCK_ELEMENTS`` elements each."""
    step = max(1, _BLOCK_ELEMENTS // max(1, row_elements))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _finite_sample(plane: np.ndarray, n_samples: int) -> np.ndarray:
    """The finite values at positions 0, s, 2s, ... of the row-major sequence of finite values.

    This is exactly the sample astropy's ``ZScaleInterval`` draws (stride ``s = int(n_finite / n_samples)``,
    at most ``n_samples`` values), but found block by block so a 4089² plane is never copied whole.
    """
    row_elements = plane.size // plane.shape[0] if plane.ndim and plane.shape[0] else 0
    n_finite = 0
    for rows in _row_blocks(plane.shape[0], row_elements):
        n_finite += int(np.count_nonzero(np.isfinite(plane[rows])))
    if n_finite == 0:
        return np.empty(0, dtype=plane.dtype)
    stride = int(max(1.0, n_finite / n_samples))
    parts = []
    seen = 0  # finite values before the current block
    taken = 0
    for rows in _row_blocks(plane.shape[0], row_elements):
        block = np.asarray(plane[rows]).ravel()
        values = block[np.isfinite(block)]
        first = (-seen) % stride  # offset of the next sampled position inside this block
        chosen = values[first::stride][: n_samples - taken]
        parts.append(chosen.copy())
        taken += chosen.size
        seen += values.size
        if taken >= n_samples:
            break
    return np.concatenate(parts)


def _flat_stride_sample(plane: np.ndarray, n_samples: int) -> np.ndarray:
    """Astropy's sample of a plane known to be all finite: flat positions 0, s, 2s, ... (fancy indexing
    only)."""
    stride = int(max(1.0, plane.size / n_samples))
    flat = np.arange(0, plane.size, stride, dtype=np.int64)[:n_samples]
    return np.asarray(plane[np.unravel_index(flat, plane.shape)])


def _limits_of_sample(sample: np.ndarray, **zscale_options) -> tuple[float, float]:
    if sample.size == 0:
        return 0.0, 1.0
    vmin, vmax = ZScaleInterval(**zscale_options).get_limits(sample)
    vmin, vmax = float(vmin), float(vmax)
    # A flat plane (or one dominated by a single value, e.g. mostly NaN -> 0) gives vmin == vmax; a unit
    # interval from vmin keeps the scaling defined (everything at vmin maps to 0).
    if not vmax > vmin:
        vmax = vmin + 1.0
    return vmin, vmax


def _check_zscale_options(n_samples: int, contrast: float, max_reject: float) -> None:
    if not (isinstance(n_samples, int | np.integer) and n_samples > 0):
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if not 0.0 <= contrast:
        raise ValueError(f"contrast must be >= 0, got {contrast!r}")
    if not 0.0 <= max_reject <= 1.0:
        raise ValueError(f"max_reject must be in [0, 1], got {max_reject!r}")


def zscale_limits(
    plane: np.ndarray,
    *,
    n_samples: int = 1000,
    contrast: float = 0.25,
    max_reject: float = 0.5,
    min_npixels: int = 5,
    krej: float = 2.5,
    max_iterations: int = 5,
) -> tuple[float, float]:
    """IRAF ZScale limits of ``plane`` from astropy's deterministic strided sample of its finite pixels.

    Gives astropy's ``ZScaleInterval().get_limits(plane)`` without copying the plane (works on memmaps
    and strided views). An all-NaN plane gives (0, 1); a constant plane ``v`` gives (v, v + 1).
    """
    _check_zscale_options(n_samples, contrast, max_reject)
    plane = np.asarray(plane)
    if plane.ndim == 0:
        plane = plane.reshape(1)
    sample = _finite_sample(plane, n_samples) if plane.size else np.empty(0)
    return _limits_of_sample(
        sample,
        n_samples=n_samples,
        contrast=contrast,
        max_reject=max_reject,
        min_npixels=min_npixels,
        krej=krej,
        max_iterations=max_iterations,
    )


def seed_zscale_limits(plane: np.ndarray) -> tuple[float, float]:
    """The seed's ZScale limits: on astropy's strided sample of the plane with NaN/inf set to 0 first."""
    if plane.size == 0:
        return 0.0, 1.0
    sample = _flat_stride_sample(plane, 1000)
    return _limits_of_sample(np.where(np.isfinite(sample), sample, 0))


def normalize_block(block: np.ndarray, *, vmin: float, vmax: float) -> None:
    """In place, on a float32 block: NaN/inf -> 0, then (x - vmin) / (vmax - vmin) clipped to [0, 1]."""
    np.copyto(block, np.float32(0.0), where=~np.isfinite(block))
    np.subtract(block, np.float32(vmin), out=block)
    np.multiply(block, np.float32(1.0 / (vmax - vmin)), out=block)
    np.clip(block, np.float32(0.0), np.float32(1.0), out=block)


def zscale_normalize_into(plane: np.ndarray, out: np.ndarray) -> tuple[float, float]:
    """Write the seed's normalisation of ``plane`` into ``out`` and return the ZScale ``(vmin, vmax)``.

    NaN (and +-inf) become 0 first, as the seed's ``nan_to_num`` does (the seed's +-inf -> +-float max
    would only saturate; the bit mask from :func:`nan_mask_bits` records all of them), the limits are
    computed on that data, then ``(x - vmin) / (vmax - vmin)`` is clipped to [0, 1]. ``out`` is a float32
    array of the same shape (a memmap slice or a strided view such as ``tensor[:, :, k]``); the arithmetic
    runs in float32 on one small block at a time, so no float64 (or float32) copy of the full plane is made.
    """
    plane = np.asarray(plane)
    if not isinstance(out, np.ndarray) or out.dtype != np.float32:
        raise ValueError(f"out must be a float32 numpy array, got {getattr(out, 'dtype', type(out))}")
    if plane.shape != out.shape or plane.ndim != 2:
        raise ValueError(f"plane must be 2-D with the shape of out {out.shape}, got {plane.shape}")
    if not (np.issubdtype(plane.dtype, np.floating) or np.issubdtype(plane.dtype, np.integer)):
        raise ValueError(f"plane must hold real numbers, got dtype {plane.dtype}")
    if plane.size == 0:
        return 0.0, 1.0
    # The limits only need astropy's strided sample, so they are taken before the plane is touched.
    sample = _flat_stride_sample(plane, 1000)
    vmin, vmax = _limits_of_sample(np.where(np.isfinite(sample), sample, 0))
    offset = np.float32(vmin)
    scale = np.float32(1.0 / (vmax - vmin))
    lo, hi = np.float32(0.0), np.float32(1.0)
    # One contiguous float32 block buffer: every operation runs there, and `out` (possibly a strided
    # channel of a channels-last tensor) is written once per pixel.
    rows_per_block = max(1, _BLOCK_ELEMENTS // plane.shape[1])
    buffer = np.empty((rows_per_block, plane.shape[1]), dtype=np.float32)
    for rows in _row_blocks(plane.shape[0], plane.shape[1]):
        buf = buffer[: rows.stop - rows.start]
        np.copyto(buf, plane[rows], casting="unsafe")  # float64 SFFT planes are stored as float32
        np.copyto(buf, np.float32(0.0), where=~np.isfinite(buf))
        np.subtract(buf, offset, out=buf)
        np.multiply(buf, scale, out=buf)
        np.clip(buf, lo, hi, out=buf)
        out[rows] = buf
    return vmin, vmax


def resize_to_shape(stamp: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a small plane to exactly ``shape``, as float32.

    This is the seed's treatment of the PSF stamp and of uncertainty maps whose size differs from the
    science image (corner pixels map onto corner pixels, scipy's ``zoom`` with ``order=1``).
    """
    stamp = np.asarray(stamp)
    if stamp.ndim != 2 or stamp.size == 0:
        raise ValueError(f"stamp must be a non-empty 2-D array, got shape {stamp.shape}")
    if len(shape) != 2 or not all(isinstance(n, int | np.integer) and n > 0 for n in shape):
        raise ValueError(f"shape must be two positive integers, got {shape!r}")
    shape = (int(shape[0]), int(shape[1]))
    if stamp.shape == shape:
        return stamp.astype(np.float32, copy=True)
    out = np.empty(shape, dtype=np.float32)
    # Output n <- input m maps exactly only when the zoom factor is n / m; scipy rounds m * factor back to n.
    factors = (shape[0] / stamp.shape[0], shape[1] / stamp.shape[1])
    ndimage.zoom(stamp.astype(np.float32, copy=False), factors, output=out, order=1)
    return out


def channel_bit(name: str) -> int:
    """The bit value (``1 << k``) that flags channel ``name`` = ``CHANNELS[k]`` in the NaN mask."""
    try:
        return 1 << CHANNELS.index(name)
    except ValueError:
        raise ValueError(f"name must be one of {CHANNELS}, got {name!r}") from None


def nan_mask_bits(planes: Mapping[str, np.ndarray], *, shape: tuple[int, int]) -> np.ndarray:
    """uint16 (H, W) mask: bit ``channel_bit(name)`` set where that channel is non-finite.

    A channel absent from ``planes`` (e.g. the SFFT channels of a job whose SFFT failed) is flagged
    everywhere. Stamp channels (the PSF) say nothing about a pixel, so their bit is never set.
    The mask keeps what normalisation erases: a masked pixel becomes 0 and then looks like signal.
    """
    if len(shape) != 2 or not all(isinstance(n, int | np.integer) and n >= 0 for n in shape):
        raise ValueError(f"shape must be two non-negative integers, got {shape!r}")
    unknown = sorted(set(planes) - set(CHANNELS))
    if unknown:
        raise ValueError(f"planes has unknown channel names {unknown}; expected names from {CHANNELS}")
    mask = np.zeros(shape, dtype=np.uint16)
    for name in CHANNELS:
        if name in STAMP_CHANNELS:
            continue
        bit = np.uint16(channel_bit(name))
        if name not in planes:
            mask |= bit
            continue
        plane = np.asarray(planes[name])
        if plane.shape != tuple(shape):
            raise ValueError(f"planes[{name!r}] has shape {plane.shape}, expected {tuple(shape)}")
        for rows in _row_blocks(shape[0], shape[1]):
            dest = mask[rows]
            np.bitwise_or(dest, bit, out=dest, where=~np.isfinite(plane[rows]))
    return mask
