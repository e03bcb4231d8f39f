"""Per-job image outputs: the 9-channel float32 tensor, the NaN bit mask and the native PSF stamp.

One plane in memory at a time: each channel is read, its NaN bits recorded, then ZScale-normalised
(NaN -> 0 first, as the seed does) straight into a preallocated memory-mapped ``.npy`` file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rapid_croissant import io, schema
from rapid_croissant.errors import JobError
from rapid_croissant.science.normalize import channel_bit, resize_to_shape, zscale_normalize_into
from rapid_croissant.writers.atomic import atomic_path

log = logging.getLogger(__name__)


@dataclass
class ImageOutputs:
    """What the tensor pass learnt on the way (used for truth S/N) and the problems it met."""

    samplers: dict[str, np.ndarray] = field(default_factory=dict)  # uncertainty values at truth positions
    psf: np.ndarray | None = None
    sfft_psf: np.ndarray | None = None
    unreadable: list[str] = field(default_factory=list)  # messages naming the file


def _sample(plane: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Plane values at rounded 0-based positions (clipped into the image)."""
    if len(xy) == 0:
        return np.zeros(0)
    h, w = plane.shape
    ix = np.clip(np.floor(xy[:, 0] + 0.5).astype(int), 0, w - 1)
    iy = np.clip(np.floor(xy[:, 1] + 0.5).astype(int), 0, h - 1)
    return np.asarray(plane[iy, ix], dtype=np.float64)


def _read_channel(job: io.RapidJob, ch: str, out: ImageOutputs) -> np.ndarray | None:
    if not job.channels_present.get(ch):
        return None
    try:
        return io.read_plane(job.channel_path(ch), job=job.path)
    except JobError as err:
        out.unreadable.append(f"{err}: channel {ch} left empty and masked")
        return None


def write_image_outputs(
    job: io.RapidJob, out_dir: Path, truth_xy: np.ndarray, *, full_images: bool
) -> ImageOutputs:
    """Write images/<jid>.npy, masks/<jid>.npy and psfs/<jid>.npy (atomically); sample uncertainties."""
    h, w = job.shape
    result = ImageOutputs()
    tensor = mask = None
    img_path = out_dir / schema.IMAGES_DIR / f"{job.jid}.npy"
    mask_path = out_dir / schema.MASKS_DIR / f"{job.jid}.npy"
    with atomic_path(img_path) as tmp_img, atomic_path(mask_path) as tmp_mask:
        if full_images:
            tensor = np.lib.format.open_memmap(
                tmp_img, mode="w+", dtype=np.float32, shape=(h, w, len(schema.CHANNELS))
            )
            mask = np.zeros((h, w), dtype=np.uint16)
        for k, ch in enumerate(schema.CHANNELS):
            plane = _read_channel(job, ch, result)
            if ch.endswith("_uncert") and plane is not None:
                result.samplers[ch] = (
                    _sample(plane, truth_xy) if plane.shape == (h, w) else np.full(len(truth_xy), np.nan)
                )
            if ch == "psf" and plane is not None:
                result.psf = plane.astype(np.float32)
            if tensor is None:
                continue
            if plane is None:
                tensor[:, :, k] = 0.0
                mask |= np.uint16(channel_bit(ch))
                continue
            if plane.shape != (h, w):
                plane = resize_to_shape(plane, (h, w))  # the seed's behaviour for PSF / uncertainty maps
            if ch not in schema.STAMP_CHANNELS:
                mask[~np.isfinite(plane)] |= np.uint16(channel_bit(ch))
            zscale_normalize_into(plane, tensor[:, :, k])
            del plane
        if tensor is not None:
            tensor.flush()
            del tensor
            np.save(tmp_mask, mask)
    if not full_images:
        for p in (img_path, mask_path):
            p.unlink(missing_ok=True)
    sfft_psf_path = job.path / "sfftdiffpsf.fits"
    if sfft_psf_path.exists():
        try:
            result.sfft_psf = io.read_plane(sfft_psf_path, job=job.path).astype(np.float32)
        except JobError as err:
            result.unreadable.append(str(err))
    if result.psf is not None:
        with atomic_path(out_dir / schema.PSFS_DIR / f"{job.jid}.npy") as tmp:
            np.save(tmp, result.psf)
    return result
