"""Bogus populations beyond cosmic rays and hot pixels, added to the science exposure of a domain job.

* FFT echoes: FFT-based convolution wraps around, so a bright source near one edge leaves a faint copy
  near the opposite edge. We add that copy (a small fraction of the source's counts, at the mirrored
  position) to the science image.
* Edge glow: a lumpy glow along one edge of the science image (amplifier glow, persistence or a bad
  resampling edge), a few pixels deep, with knots that the finder picks up.

PSF-mismatch residuals of either sign, registration dipoles and saturated-star residuals come from the
job spec itself (PSF-model error, reference shift, saturated stars) through the real subtractions.
Everything here draws from its own generator, so a job without these artefacts is unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rapid_croissant.simulate import optics

#: Sources within this distance (px) of an edge leave an echo at the opposite edge.
ECHO_EDGE = 24
#: Only sources with at least this many counts leave a visible echo.
ECHO_MIN_COUNTS = 2.0e5
#: Depth (px) of the edge glow and its knots.
GLOW_DEPTH = 3.0


def echo_sources(stars: pd.DataFrame, transients, shape, *, fraction: float) -> pd.DataFrame:
    """Echo positions and counts of bright point sources near an edge (mirrored to the opposite edge)."""
    h, w = shape
    pts = pd.concat([stars[["x", "y", "counts"]]] + [t[["x", "y", "counts"]] for t in transients if len(t)])
    pts = pts[pts.counts >= ECHO_MIN_COUNTS]
    rows = []
    for p in pts.itertuples(index=False):
        x, y = float(p.x), float(p.y)
        if x < ECHO_EDGE or x > w - 1 - ECHO_EDGE:
            rows.append((w - 1 - x, y, p.counts * fraction))
        if y < ECHO_EDGE or y > h - 1 - ECHO_EDGE:
            rows.append((x, h - 1 - y, p.counts * fraction))
    out = pd.DataFrame(rows, columns=["x", "y", "counts"])
    return out[out.x.between(0, w - 1) & out.y.between(0, h - 1)].reset_index(drop=True)


def edge_glow(shape, rng: np.random.Generator, *, sky_counts: float) -> np.ndarray:
    """A lumpy glow (counts) along one random edge: an exponential profile with knots along the edge."""
    h, w = shape
    side = int(rng.integers(4))
    length = w if side in (0, 1) else h
    along = np.arange(length)
    amp = 3.0 * np.sqrt(sky_counts) * (1.0 + rng.lognormal(0.0, 0.6))
    knots = np.zeros(length)
    for c in rng.integers(0, length, max(length // 40, 2)):
        knots += rng.uniform(5.0, 25.0) * np.sqrt(sky_counts) * np.exp(-0.5 * ((along - c) / 1.2) ** 2)
    depth = np.arange(max(int(6 * GLOW_DEPTH), 1))
    prof = np.exp(-depth / GLOW_DEPTH)
    band = np.outer(prof, amp + knots)  # (depth, along)
    glow = np.zeros(shape)
    d = len(depth)
    if side == 0:  # bottom rows
        glow[:d, :] = band
    elif side == 1:  # top rows
        glow[h - d :, :] = band[::-1]
    elif side == 2:  # left columns
        glow[:, :d] = band.T
    else:
        glow[:, w - d :] = band.T[:, ::-1]
    return glow


def add_science_artefacts(counts: np.ndarray, spec, scene, rng: np.random.Generator) -> None:
    """Add the domain's echoes and edge glow to the science counts in place."""
    if spec.echo_fraction > 0:
        echoes = echo_sources(scene.stars, (scene.ou, scene.inj), counts.shape, fraction=spec.echo_fraction)
        if len(echoes):
            optics.add_point_sources(
                counts, echoes.x, echoes.y, echoes.counts, fwhm=spec.fwhm_sci, beta=spec.moffat_beta
            )
    if spec.edge_glow:
        counts += edge_glow(counts.shape, rng, sky_counts=spec.sky_rate * spec.exptime)
