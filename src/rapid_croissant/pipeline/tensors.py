"""Per-job image outputs: the 9-channel float32 tensor, the NaN bit mask and the native PSF stamp.

The nine input planes are opened as memory maps (nothing is read until touched); the ZScale limits of
each channel come from astropy's strided sample of 1000 pixels, NaN set to 0 first (the seed's
normalisation); then the tensor is produced in blocks of rows: each block of all nine channels is
normalised in float32 and written sequentially into the ``.npy`` file, while the NaN bits go into the
mask. No full plane is ever loaded, no float64 temporary is made, and the output is written once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rapid_croissant import formats, io
from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.errors import JobError
from rapid_croissant.io.paths import usable_file
from rapid_croissant.science.normalize import (
    channel_bit,
    normalize_block,
    resize_to_shape,
    seed_zscale_limits,
)
from rapid_croissant.writers.atomic import atomic_path

log = logging.getLogger(__name__)

#: Elements per channel in one block of rows (about 4 MB per channel in float32).
BLOCK_ELEMENTS = 1 << 20


@dataclass
class ImageOutputs:
    """What the tensor pass learnt on the way (used for truth S/N) and the problems it met."""

    samplers: dict[str, np.ndarray] = field(default_factory=dict)  # uncertainty values at truth positions
    psf: np.ndarray | None = None
    sfft_psf: np.ndarray | None = None
    unreadable: list[str] = field(default_factory=list)  # messages naming the file
    limits: dict[str, tuple[float, float]] = field(default_factory=dict)  # ZScale (vmin, vmax) per channel
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # of each plane opened, as read


def _sample(plane: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Plane values at rounded 0-based positions (clipped into the image)."""
    if len(xy) == 0:
        return np.zeros(0)
    h, w = plane.shape
    ix = np.clip(np.floor(xy[:, 0] + 0.5).astype(int), 0, w - 1)
    iy = np.clip(np.floor(xy[:, 1] + 0.5).astype(int), 0, h - 1)
    return np.asarray(plane[iy, ix], dtype=np.float64)


def _open_channel(job: io.RapidJob, ch: str, out: ImageOutputs) -> np.ndarray | None:
    """The channel's plane (a memory map for full frames, an array for the PSF stamp), or None."""
    if not job.channels_present.get(ch):
        return None
    try:
        if ch in formats.STAMP_CHANNELS:
            return io.read_plane(job.channel_path(ch), job=job.path)
        return io.open_plane(job.channel_path(ch), job=job.path)
    except JobError as err:
        out.unreadable.append(f"{err}: channel {ch} left empty and masked")
        return None


def open_channels(
    job: io.RapidJob, truth_xy: np.ndarray, result: ImageOutputs, *, resize: bool = True
) -> dict[str, np.ndarray | None]:
    """Every channel at the image shape (small or mismatched planes resized, as the seed does, unless
    ``resize`` is False: then no tensor is written and the planes keep their own shapes)."""
    h, w = job.shape
    planes = {}
    for ch in schema.CHANNELS:
        plane = _open_channel(job, ch, result)
        if plane is not None:
            result.shapes[ch] = tuple(plane.shape)
        if ch == "psf" and plane is not None:
            result.psf = np.asarray(plane, dtype=np.float32)
        if ch.endswith("_uncert") and plane is not None:
            result.samplers[ch] = (
                _sample(plane, truth_xy) if plane.shape == (h, w) else np.full(len(truth_xy), np.nan)
            )
        if resize and plane is not None and plane.shape != (h, w):
            plane = resize_to_shape(
                np.asarray(plane), (h, w)
            )  # the seed's behaviour for PSF / uncertainty maps
        planes[ch] = plane
    return planes


def channel_limits(planes: dict[str, np.ndarray | None]) -> dict[str, tuple[float, float]]:
    """The ZScale (vmin, vmax) of every present channel (what maps it to [0, 1])."""
    return {ch: seed_zscale_limits(p) for ch, p in planes.items() if p is not None}


def write_tensor(
    planes: dict[str, np.ndarray | None],
    shape: tuple[int, int],
    img_path: Path,
    mask_path: Path,
    limits: dict[str, tuple[float, float]] | None = None,
) -> None:
    """Stream the (H, W, 9) float32 tensor and the uint16 NaN mask to disk, block of rows by block of rows."""
    h, w = shape
    n_ch = len(schema.CHANNELS)
    limits = limits if limits is not None else channel_limits(planes)
    rows = max(1, BLOCK_ELEMENTS // w)
    block = np.empty((rows, w, n_ch), dtype=np.float32)
    buf = np.empty((rows, w), dtype=np.float32)
    bad = np.empty((rows, w), dtype=bool)
    mask = np.zeros((h, w), dtype=np.uint16)
    with atomic_path(img_path) as tmp_img, atomic_path(mask_path) as tmp_mask:
        with open(tmp_img, "wb") as fh:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": "<f4", "fortran_order": False, "shape": (h, w, n_ch)}
            )
            for r0 in range(0, h, rows):
                r1 = min(r0 + rows, h)
                n = r1 - r0
                for k, ch in enumerate(schema.CHANNELS):
                    plane, bit = planes[ch], np.uint16(channel_bit(ch))
                    if plane is None:  # absent or unreadable: zeros, every pixel flagged
                        block[:n, :, k] = 0.0
                        mask[r0:r1] |= bit
                        continue
                    b = buf[:n]
                    np.copyto(b, plane[r0:r1], casting="unsafe")  # big-endian float32/float64 -> float32
                    if ch not in formats.STAMP_CHANNELS:
                        np.logical_not(np.isfinite(b, out=bad[:n]), out=bad[:n])
                        np.bitwise_or(mask[r0:r1], bit, out=mask[r0:r1], where=bad[:n])
                    normalize_block(b, vmin=limits[ch][0], vmax=limits[ch][1])
                    block[:n, :, k] = b
                fh.write(block[:n].data)  # a leading-axis slice of a C array is contiguous
        np.save(tmp_mask, mask)


def write_image_outputs(
    job: io.RapidJob, out_dir: Path, truth_xy: np.ndarray, *, full_images: bool
) -> ImageOutputs:
    """Write images/<jid>.npy, masks/<jid>.npy and psfs/<jid>.npy (atomically); sample uncertainties."""
    result = ImageOutputs()
    planes = open_channels(job, truth_xy, result, resize=full_images)
    result.limits = channel_limits(planes)  # every profile records them (physical.parquet)
    layout = Layout(out_dir)
    img_path, mask_path = layout.image(job.jid), layout.mask(job.jid)
    if full_images:
        write_tensor(planes, job.shape, img_path, mask_path, result.limits)
    else:
        for p in (img_path, mask_path):
            p.unlink(missing_ok=True)
    del planes
    sfft_psf_path = job.path / "sfftdiffpsf.fits"
    if usable_file(sfft_psf_path):
        try:
            result.sfft_psf = io.read_plane(sfft_psf_path, job=job.path).astype(np.float32)
        except JobError as err:
            result.unreadable.append(str(err))
    if result.psf is not None:
        with atomic_path(layout.psf(job.jid)) as tmp:
            np.save(tmp, result.psf)
    return result
