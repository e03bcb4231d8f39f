"""The simulated sky of one job: a static scene (stars, galaxies), OpenUniverse-like transients and
RAPID-like injected point sources, with magnitudes turned into counts the way OpenUniverse and RAPID do.

All positions here are 0-based pixel positions on the (S+1)x(S+1) product grid; the writers convert to
the 1-based galsim convention of the truth files (rapid_formats.md §5.3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rapid_croissant import formats
from rapid_croissant.simulate import constants

#: Object densities per 512x512 pixels (an OpenUniverse SCA holds ~25k objects, mostly galaxies).
STARS_PER_512 = 40
GALAXIES_PER_512 = 260
OU_TRANSIENTS_PER_512 = 8
INJECTIONS_PER_512 = 50
#: RAPID avoids a 10 px edge buffer when placing injections (pipeline_evaluation_metrics.rst).
INJECTION_EDGE_BUFFER = 10


@dataclass(frozen=True)
class JobSpec:
    """Everything that defines one simulated job (drawn from the run seed)."""

    jid: int
    seed: int
    size: int  # simulated SCA size S; products are (S+1)x(S+1)
    filter: str
    pointing: int
    sca: int
    mjd: float
    exptime: float
    fwhm_sci: float
    fwhm_ref: float
    ref_shift: tuple[float, float]  # residual registration error of the resampled reference (px)
    psf_model_error: float  # fractional FWHM error of the PSF models given to ZOGY and SFFT
    sky_rate: float  # e-/s/pixel
    ra0: float
    dec0: float
    n_injections: int
    edge_sources: bool = False  # defect: bright sources on the image edge
    big_nan_region: bool = False  # defect: large region without reference coverage
    # --- domains and fields (simulate/domains.py); the defaults are the historical simulator ---
    domain: str = "default"
    field: str = ""  # sky field shared by several epochs (same sky, same reference)
    field_seed: int | None = None  # seeds the static sky, the coverage and the reference noise
    moffat_beta: float = 2.5
    read_noise: float = 15.0
    ref_sky_rate: float | None = None  # sky of the reference coadd (None: the science sky_rate)
    ou_per_512: float = OU_TRANSIENTS_PER_512
    cosmic_rays_per_512: float = 25.0
    hot_pixels_per_512: float = 12.0
    saturated_stars: int = 0  # extra stars that saturate both epochs
    echo_fraction: float = 0.0  # FFT echoes of bright sources near an edge, at the opposite edge
    edge_glow: bool = False  # a glowing, lumpy science edge
    negative_catalogs: bool = False  # also detect on -diff and write the *_negative catalogs

    @property
    def zptmag(self) -> float:
        return constants.zptmag_from_exptime(self.exptime)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.size + 1, self.size + 1)

    @property
    def stem(self) -> str:
        return f"Roman_TDS_simple_model_{self.filter}_{self.pointing}_{self.sca}_lite"


def counts_from_ab(ab, *, zptmag: float, filter_name: str):
    """Counts (e-) in the exposure of a source of AB magnitude ``ab`` (inverse of rapid_formats.md §5.1)."""
    return 10.0 ** (-0.4 * (np.asarray(ab, dtype=float) - zptmag - formats.ZP_BAND[filter_name]))


def _area_scale(spec: JobSpec) -> float:
    return (spec.size / 512.0) ** 2


def make_static_scene(spec: JobSpec, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stars and galaxies (the same in the science and reference epochs)."""
    h, w = spec.shape
    n_star = rng.poisson(STARS_PER_512 * _area_scale(spec))
    # star counts rise towards faint magnitudes; a few bright ones saturate
    star_ab = 16.0 + 10.0 * rng.power(2.2, n_star)
    stars = pd.DataFrame(
        {
            "x": rng.uniform(0, w - 1, n_star),
            "y": rng.uniform(0, h - 1, n_star),
            "ab": star_ab,
        }
    )
    n_gal = rng.poisson(GALAXIES_PER_512 * _area_scale(spec))
    gal_ab = 18.5 + 9.0 * rng.power(2.5, n_gal)
    r_eff = np.clip(
        rng.lognormal(np.log(2.0), 0.5, n_gal) * (1.0 + 0.25 * (24.0 - gal_ab).clip(0)), 0.6, 12.0
    )
    galaxies = pd.DataFrame(
        {
            "x": rng.uniform(0, w - 1, n_gal),
            "y": rng.uniform(0, h - 1, n_gal),
            "ab": gal_ab,
            "r_eff": r_eff,
            "n": np.where(rng.random(n_gal) < 0.3, 4.0, 1.0),
            "q": rng.uniform(0.35, 1.0, n_gal),
            "theta": rng.uniform(0, np.pi, n_gal),
        }
    )
    if spec.saturated_stars:
        bright = pd.DataFrame(
            {
                "x": rng.uniform(0, w - 1, spec.saturated_stars),
                "y": rng.uniform(0, h - 1, spec.saturated_stars),
                "ab": rng.uniform(13.5, 16.5, spec.saturated_stars),
            }
        )
        stars = pd.concat([stars, bright], ignore_index=True)
    for df in (stars, galaxies):
        df["counts"] = counts_from_ab(df["ab"], zptmag=spec.zptmag, filter_name=spec.filter)
    return stars, galaxies


def _positions_on_hosts(n: int, galaxies: pd.DataFrame, spec: JobSpec, rng, *, frac_on_host: float):
    """Positions offset by up to +-1.5 semi-major sigma from random bright galaxies (RAPID's scheme)."""
    h, w = spec.shape
    b = INJECTION_EDGE_BUFFER
    hosts = galaxies[
        (galaxies.ab < 24.5) & galaxies.x.between(b, w - 1 - b) & galaxies.y.between(b, h - 1 - b)
    ]
    xs, ys, host_ids = np.empty(n), np.empty(n), np.full(n, -1)
    for i in range(n):
        if len(hosts) and rng.random() < frac_on_host:
            g = hosts.iloc[rng.integers(len(hosts))]
            sigma = g.r_eff / 1.1774  # half-light radius -> Gaussian-equivalent sigma
            xs[i] = np.clip(g.x + rng.uniform(-1.5, 1.5) * sigma, b, w - 1 - b)
            ys[i] = np.clip(g.y + rng.uniform(-1.5, 1.5) * sigma * g.q, b, h - 1 - b)
            host_ids[i] = g.name
        else:
            xs[i], ys[i] = rng.uniform(b, w - 1 - b), rng.uniform(b, h - 1 - b)
    return xs, ys, host_ids


def make_transients(spec: JobSpec, galaxies: pd.DataFrame, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    """OpenUniverse-like transients (science epoch only) and RAPID-like injections (AB uniform 21-28)."""
    n_ou = rng.poisson(spec.ou_per_512 * _area_scale(spec))
    xs, ys, host = _positions_on_hosts(n_ou, galaxies, spec, rng, frac_on_host=0.8)
    ou = pd.DataFrame({"x": xs, "y": ys, "ab": rng.uniform(20.5, 26.5, n_ou), "host": host})
    ou["object_id"] = 20_000_000 + spec.jid * 1000 + np.arange(n_ou)
    n_inj = spec.n_injections
    xs, ys, host = _positions_on_hosts(n_inj, galaxies, spec, rng, frac_on_host=0.75)
    inj = pd.DataFrame(
        {"x": xs, "y": ys, "ab": rng.uniform(*formats.INJECTION_MAG_RANGE, n_inj), "host": host}
    )
    if spec.edge_sources:
        # defect job: bright transients right on the image edges (photutils fits leave the image there)
        h, w = spec.shape
        edge = pd.DataFrame(
            {
                "x": [0.3, w - 1.4, w / 2.0, 2.0],
                "y": [h / 2.0, h / 3.0, 0.4, h - 1.2],
                "ab": [20.5, 21.0, 21.5, 20.8],
                "host": -1,
            }
        )
        inj = pd.concat([inj, edge], ignore_index=True)
    for df in (ou, inj):
        df["counts"] = counts_from_ab(df["ab"], zptmag=spec.zptmag, filter_name=spec.filter)
    return ou, inj


def make_artefacts(spec: JobSpec, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cosmic-ray hits and hot pixels of the science exposure (counts in e-)."""
    h, w = spec.shape
    n_cr = rng.poisson(spec.cosmic_rays_per_512 * _area_scale(spec))
    rays = pd.DataFrame(
        {
            "x": rng.integers(0, w - 1, n_cr),
            "y": rng.integers(0, h - 1, n_cr),
            "length": rng.integers(1, 4, n_cr),
            "angle": rng.choice([0, 1, 2, 3], n_cr),
            "counts": rng.lognormal(np.log(3000.0), 1.0, n_cr),
        }
    )
    n_hot = rng.poisson(spec.hot_pixels_per_512 * _area_scale(spec))
    hot = pd.DataFrame(
        {
            "x": rng.integers(0, w - 1, n_hot),
            "y": rng.integers(0, h - 1, n_hot),
            "counts": rng.lognormal(np.log(2500.0), 0.8, n_hot),
        }
    )
    return rays, hot


def coverage_map(spec: JobSpec, rng) -> np.ndarray:
    """Reference coverage (frames per pixel): a zero-coverage band and a low-coverage (< 0.5) edge next to
    it."""
    h, w = spec.shape
    cov = np.full((h, w), 6.0, dtype=np.float32)
    frac = 0.45 if spec.big_nan_region else rng.uniform(0.04, 0.10)
    width = max(int(frac * w), 2)
    low = max(int(0.03 * w), 3)
    side = rng.integers(4)
    band = np.zeros((h, w), dtype=bool)
    lowband = np.zeros((h, w), dtype=bool)
    sl_zero = {0: np.s_[:, :width], 1: np.s_[:, w - width :], 2: np.s_[:width, :], 3: np.s_[h - width :, :]}[
        side
    ]
    sl_low = {
        0: np.s_[:, width : width + low],
        1: np.s_[:, w - width - low : w - width],
        2: np.s_[width : width + low, :],
        3: np.s_[h - width - low : h - width, :],
    }[side]
    band[sl_zero] = True
    lowband[sl_low] = True
    cov[band] = 0.0
    cov[lowband] = rng.uniform(0.15, 0.45)
    return cov
