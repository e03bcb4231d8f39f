"""The cutout-first build profile (``build --profile cutouts``): cutouts straight from the FITS planes.

The ``full`` profile (the seed's) writes each job's (H, W, 9) float32 tensor and makes the cutout store
from it. The ``cutouts`` profile writes no tensor: each job opens its planes as memory maps, takes the
ZScale limits of each channel from astropy's 1000-pixel strided sample (the same sample and the same
limits as the full profile, so the values are identical), and normalises only the 64x64 windows around
its candidates. Per job it writes, under ``.parts/``, its cutouts and validity bits in the order of its
candidates, and ``frames/<jid>.json`` with what is needed to turn a cutout back into physical values: the
shape, per channel the limits ``vmin, vmax`` (value = vmin + v (vmax - vmin) for 0 < v < 1; 0 and 1 are
clipped) and the WCS header. At the end of the build the parts are assembled into the same cutout store
as ``--cutouts`` writes (see ``cutout_store.py``), plus ``sfft-*`` arrays centred on the SFFT position of
the candidates whose SFFT position rounds to another pixel than (x, y), so that a loader never needs a
full frame.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant import formats, io
from rapid_croissant.dataset import schema
from rapid_croissant.dataset.cutouts import VALID_SETS
from rapid_croissant.dataset.layout import SFFT_CUTOUT_PREFIX, Layout
from rapid_croissant.errors import JobError
from rapid_croissant.science.cutouts import cutout_bounds, job_cutouts, psf_plane
from rapid_croissant.science.normalize import (
    channel_bit,
    normalize_block,
    resize_to_shape,
    seed_zscale_limits,
)
from rapid_croissant.writers.atomic import atomic_path, write_text

log = logging.getLogger(__name__)

SIZE = 64
#: Candidates gathered at once (about 150 MB of float32 cutouts).
CHUNK = 1024
#: The alternative centres kept per candidate: (prefix of the store files, x column, y column).
ALT_CENTRES = ((SFFT_CUTOUT_PREFIX, "sfft_x", "sfft_y"),)
LIMITS_NOTE = (
    "ZScale limits (astropy ZScaleInterval, contrast 0.25) of a strided sample of 1000 pixels of the plane, "
    "NaN set to 0, as the seed and the full profile compute them: value = vmin + v * (vmax - vmin) for "
    "0 < v < 1 (0 and 1 are clipped)"
)


def part_paths(out_dir: Path, jid: str, prefix: str = "") -> dict[str, Path]:
    return Layout(out_dir).part_cutouts(jid, prefix)


def open_planes(job: io.RapidJob) -> dict[str, np.ndarray | None]:
    """Full-frame channels as memory maps (mismatched uncertainty maps resized, as the full profile does).

    The PSF channel is not opened: the store holds the native stamp there, never the resized plane.
    """
    h, w = job.shape
    planes: dict[str, np.ndarray | None] = {}
    for ch in schema.CHANNELS:
        planes[ch] = None
        if ch in formats.STAMP_CHANNELS or not job.channels_present.get(ch):
            continue
        try:
            plane = io.open_plane(job.channel_path(ch), job=job.path)
        except JobError:  # the tensor pass recorded it in the job's notes: zeros, masked
            continue
        planes[ch] = plane if plane.shape == (h, w) else resize_to_shape(np.asarray(plane), (h, w))
    return planes


def channel_limits(planes: dict[str, np.ndarray | None]) -> dict[str, tuple[float, float]]:
    """The full profile's ZScale limits of every opened channel (astropy's strided 1000-pixel sample)."""
    return {ch: seed_zscale_limits(p) for ch, p in planes.items() if p is not None}


def window(planes, limits, shape, x: float, y: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The normalised (h, w, 9) float32 tensor and uint16 NaN mask of the window around (x, y), clipped
    to the image, and its origin (row0, col0): the values the full profile writes at those pixels."""
    row0, row1, col0, col1 = cutout_bounds(x, y, size=SIZE)
    r0, r1 = max(row0, 0), min(row1, shape[0])
    c0, c1 = max(col0, 0), min(col1, shape[1])
    r1, c1 = max(r0, r1), max(c0, c1)
    sub = np.zeros((r1 - r0, c1 - c0, len(schema.CHANNELS)), dtype=np.float32)
    mask = np.zeros((r1 - r0, c1 - c0), dtype=np.uint16)
    buf = np.empty((r1 - r0, c1 - c0), dtype=np.float32)
    for k, ch in enumerate(schema.CHANNELS):
        bit = np.uint16(channel_bit(ch))
        plane = planes.get(ch)
        if plane is None:
            if ch not in formats.STAMP_CHANNELS:
                mask |= bit
            continue
        np.copyto(buf, plane[r0:r1, c0:c1], casting="unsafe")
        np.bitwise_or(mask, bit, out=mask, where=~np.isfinite(buf))
        normalize_block(buf, vmin=limits[ch][0], vmax=limits[ch][1])
        sub[:, :, k] = buf
    return sub, mask, r0, c0


def _to_store(cut: np.ndarray, np_dtype, scale: float) -> np.ndarray:
    """float32 [0, 1] cutouts -> the store's dtype, exactly as cutout_store.py converts them."""
    vals = cut * scale if scale != 1.0 else cut
    return np.rint(vals) if np_dtype == np.uint8 else vals


def _bad_bits(channels) -> int:
    return sum(channel_bit(c) for c in channels if c not in formats.STAMP_CHANNELS)


def _edge_cutouts(planes, limits, psf, shape, x, y) -> tuple[np.ndarray, np.ndarray]:
    """One candidate whose window reaches outside the image, through science.cutouts.job_cutouts."""
    sub, mask, r0, c0 = window(planes, limits, shape, x, y)
    # the window keeps the image's edges: its cutouts are those of the full frame, shifted
    lx, ly = np.array([x - c0]), np.array([y - r0])
    cut = job_cutouts(sub, mask, psf, lx, ly, channels=schema.CHANNELS, size=SIZE)[0]
    valid = np.empty((len(VALID_SETS), SIZE, SIZE // 8), dtype=np.uint8)
    for k, alg in enumerate(VALID_SETS):
        channels = schema.CHANNELS if alg == "both" else schema.CUTOUT_CHANNELS[alg]
        ok = (
            cut[-1]
            if alg == "both"
            else job_cutouts(sub, mask, psf, lx, ly, channels=channels, size=SIZE)[0, -1]
        )
        valid[k] = np.packbits(ok > 0.5, axis=-1)
    return cut[:-1], valid


def _interior_cutouts(planes, limits, psf, r0: np.ndarray, c0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cutouts of windows wholly inside the image, gathered from the memory maps channel by channel
    (the same float32 arithmetic as the full profile's tensor pass and job_cutouts)."""
    n, ar = len(r0), np.arange(SIZE)
    rows, cols = (r0[:, None] + ar)[:, :, None], (c0[:, None] + ar)[:, None, :]
    cut = np.empty((n, len(schema.CHANNELS), SIZE, SIZE), dtype=np.float32)
    bits = np.zeros((n, SIZE, SIZE), dtype=np.uint16)
    for k, ch in enumerate(schema.CHANNELS):
        plane, buf = planes.get(ch), cut[:, k]
        if ch in formats.STAMP_CHANNELS:
            buf[:] = 0.0 if psf is None else psf_plane(np.asarray(psf), SIZE)
            continue
        if plane is None:
            buf[:] = 0.0
            bits |= np.uint16(channel_bit(ch))
            continue
        np.copyto(buf, plane[rows, cols], casting="unsafe")
        bad = ~np.isfinite(buf)
        bits[bad] |= np.uint16(channel_bit(ch))
        normalize_block(buf, vmin=limits[ch][0], vmax=limits[ch][1])
        buf[bad] = 0.0  # job_cutouts: a NaN pixel of a channel is 0 in that channel
    valid = np.empty((n, len(VALID_SETS), SIZE, SIZE // 8), dtype=np.uint8)
    for k, alg in enumerate(VALID_SETS):
        channels = schema.CHANNELS if alg == "both" else schema.CUTOUT_CHANNELS[alg]
        valid[:, k] = np.packbits((bits & np.uint16(_bad_bits(channels))) == 0, axis=-1)
    return cut, valid


def candidate_cutouts(planes, limits, psf, shape, xs, ys, cuts, valid, *, np_dtype, scale) -> None:
    """Fill ``cuts`` (N, 9, 64, 64) in the store's dtype and ``valid`` (N, 3, 64, 8), as the cutout store."""
    bounds = np.array([cutout_bounds(x, y, size=SIZE) for x, y in zip(xs, ys, strict=True)]).reshape(-1, 4)
    inside = (
        (bounds[:, 0] >= 0) & (bounds[:, 2] >= 0) & (bounds[:, 1] <= shape[0]) & (bounds[:, 3] <= shape[1])
    )
    where = np.flatnonzero(inside)
    for s in range(0, len(where), CHUNK):
        idx = where[s : s + CHUNK]
        cut, ok = _interior_cutouts(planes, limits, psf, bounds[idx, 0], bounds[idx, 2])
        cuts[idx] = _to_store(cut, np_dtype, scale)
        valid[idx] = ok
    for i in np.flatnonzero(~inside):
        cut, ok = _edge_cutouts(planes, limits, psf, shape, xs[i], ys[i])
        cuts[i] = _to_store(cut, np_dtype, scale)
        valid[i] = ok


def _write_part(paths: dict[str, Path], ids, planes, limits, psf, shape, xs, ys, dtype: str) -> None:
    """Write one job's cutouts straight into memory-mapped part files (in the store's dtype)."""
    from rapid_croissant.pipeline.cutout_store import DTYPES

    np_dtype, scale = DTYPES[dtype]
    n = len(xs)
    with atomic_path(paths["cutouts"]) as tmp_c, atomic_path(paths["valid"]) as tmp_v:
        cuts = np.lib.format.open_memmap(
            tmp_c, mode="w+", dtype=np_dtype, shape=(n, len(schema.CHANNELS), SIZE, SIZE)
        )
        valid = np.lib.format.open_memmap(
            tmp_v, mode="w+", dtype=np.uint8, shape=(n, len(VALID_SETS), SIZE, SIZE // 8)
        )
        candidate_cutouts(planes, limits, psf, shape, xs, ys, cuts, valid, np_dtype=np_dtype, scale=scale)
        cuts.flush()
        valid.flush()
        del cuts, valid
    with atomic_path(paths["index"]) as tmp:
        pd.DataFrame({"candidate_id": ids}).to_parquet(tmp, index=False)


def frame_facts(job: io.RapidJob, limits: dict[str, tuple[float, float]]) -> dict:
    wcs = job.header.wcs
    header = {} if wcs is None else {k: v for k, v in wcs.to_header(relax=True).items()}
    return {
        "jid": job.jid,
        "shape": list(job.shape),
        "limits": {
            ch: (list(limits[ch]) if ch in limits else None)
            for ch in schema.CHANNELS
            if ch not in formats.STAMP_CHANNELS
        },
        "limits_note": LIMITS_NOTE,
        "psf": "native ZOGY difference PSF stamp, not normalised",
        "wcs_header": header,
    }


def write_job_cutouts(job: io.RapidJob, cand: pd.DataFrame, out_dir: Path, psf, *, dtype: str) -> int:
    """Write one job's cutout parts (main centres and alternative centres) and frames/<jid>.json."""
    planes = open_planes(job)
    limits = channel_limits(planes)
    xs, ys = cand["x"].to_numpy(float), cand["y"].to_numpy(float)
    ids = cand["candidate_id"].astype(str).to_numpy()
    _write_part(part_paths(out_dir, job.jid), ids, planes, limits, psf, job.shape, xs, ys, dtype)
    for prefix, xcol, ycol in ALT_CENTRES:
        ax, ay = cand[xcol].to_numpy(float), cand[ycol].to_numpy(float)
        other = (
            np.isfinite(ax)
            & np.isfinite(ay)
            & ((np.floor(ax + 0.5) != np.floor(xs + 0.5)) | (np.floor(ay + 0.5) != np.floor(ys + 0.5)))
        )
        paths = part_paths(out_dir, job.jid, prefix)
        _write_part(paths, ids[other], planes, limits, psf, job.shape, ax[other], ay[other], dtype)
    write_text(Layout(out_dir).frame(job.jid), json.dumps(frame_facts(job, limits), indent=1))
    return len(cand)
