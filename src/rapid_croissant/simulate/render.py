"""Render the science and reference epochs of one simulated job, in DN/s (gain 1) as RAPID's products.

Science: static scene + transients + injections drawn with the science PSF, sky, Poisson and read noise,
cosmic rays, hot pixels, saturation, then RAPID's appended last row and column (a constant, the clipped
mean of the raw image) and background subtraction. Reference: a deeper coadd of the static scene only,
with another PSF, a small registration error, and zero/low coverage regions (0 outside coverage, as
swarp writes it; rapid_formats.md §2.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.stats import sigma_clipped_stats

from rapid_croissant.simulate import artefacts, constants, optics
from rapid_croissant.simulate.scene import JobSpec

READ_NOISE_E = 15.0  # the default domain's read noise (JobSpec.read_noise)
REF_FRAMES = 6.0


@dataclass
class Epochs:
    sci_raw: np.ndarray  # reformatted science image (DN/s), with injections, appended row/column
    sci: np.ndarray  # background-subtracted science (DN/s)
    ref: np.ndarray  # resampled, gain-matched, background-subtracted reference (DN/s)
    cov: np.ndarray  # reference coverage map (frames)
    sky_sci: float  # subtracted science background (DN/s)


def _sky_image(spec: JobSpec, stars, galaxies, transients, *, fwhm: float, shift=(0.0, 0.0)) -> np.ndarray:
    """Noise-free image in counts of the exposure: galaxies (x) PSF + point sources."""
    h, w = spec.shape
    beta = spec.moffat_beta
    img = np.zeros((h, w), dtype=np.float64)
    gal = galaxies.assign(x=galaxies.x + shift[0], y=galaxies.y + shift[1], flux=galaxies.counts)
    optics.add_galaxies(img, gal)
    img = optics.convolve_same(img, optics.psf_stamp(fwhm, size=31, beta=beta))
    pts = [stars] + [t for t in transients if len(t)]
    for df in pts:
        optics.add_point_sources(img, df.x + shift[0], df.y + shift[1], df.counts, fwhm=fwhm, beta=beta)
    return img


def _add_artefacts(counts: np.ndarray, rays, hot) -> None:
    h, w = counts.shape
    steps = {0: (1, 0), 1: (0, 1), 2: (1, 1), 3: (1, -1)}
    for r in rays.itertuples(index=False):
        dx, dy = steps[int(r.angle)]
        per = r.counts / r.length
        for k in range(int(r.length)):
            x, y = int(r.x) + k * dx, int(r.y) + k * dy
            if 0 <= x < w and 0 <= y < h:
                counts[y, x] += per
    for p in hot.itertuples(index=False):
        counts[int(p.y), int(p.x)] += p.counts


def render_epochs(spec: JobSpec, scene, rng: np.random.Generator, ref_rng=None) -> Epochs:
    """Draw both epochs of one job. ``scene`` holds stars, galaxies, ou, inj, rays, hot, cov.

    ``ref_rng`` draws the reference noise (default: ``rng``): the epochs of one field share it, and so
    share one reference image.
    """
    t = spec.exptime
    sat_rate = constants.SATURATION_DN / t
    # --- science epoch (counts in the exposure) ---
    sky_counts = spec.sky_rate * t
    model = _sky_image(spec, scene.stars, scene.galaxies, (scene.ou, scene.inj), fwhm=spec.fwhm_sci)
    if spec.echo_fraction > 0 or spec.edge_glow:
        artefacts.add_science_artefacts(model, spec, scene, np.random.default_rng([spec.seed, 7]))
    counts = rng.poisson(np.clip(model + sky_counts, 0, None)).astype(np.float64)
    counts += rng.normal(0.0, spec.read_noise, counts.shape)
    _add_artefacts(counts, scene.rays, scene.hot)
    sci_raw = (np.minimum(counts, constants.SATURATION_DN) / t).astype(np.float32)
    # RAPID appends a last row and column holding the clipped mean of the raw image / EXPTIME (§2.1)
    fill = np.float32(sigma_clipped_stats(sci_raw[:-1, :-1], sigma=3.0)[0])
    sci_raw[-1, :] = fill
    sci_raw[:, -1] = fill
    sky_sci = float(sigma_clipped_stats(sci_raw, sigma=3.0)[1])
    sci = sci_raw - np.float32(sky_sci)
    # --- reference epoch: deeper coadd of the static scene only, other PSF, registration error ---
    ref_model = _sky_image(spec, scene.stars, scene.galaxies, (), fwhm=spec.fwhm_ref, shift=spec.ref_shift)
    cov = scene.cov
    t_ref = t * np.maximum(cov, 1e-3)
    ref_sky = (spec.sky_rate if spec.ref_sky_rate is None else spec.ref_sky_rate) * t
    ref_counts_var = np.clip(ref_model + ref_sky, 0, None) * (t_ref / t) + spec.read_noise**2 * np.maximum(
        cov, 1e-3
    )
    ref_rng = rng if ref_rng is None else ref_rng
    ref = (ref_model / t) + ref_rng.normal(0.0, 1.0, cov.shape) * np.sqrt(ref_counts_var) / t_ref
    ref = np.minimum(ref, sat_rate)
    ref[cov <= 0] = 0.0  # swarp resets pixels without coverage to zero
    return Epochs(
        sci_raw=sci_raw, sci=sci.astype(np.float32), ref=ref.astype(np.float32), cov=cov, sky_sci=sky_sci
    )
