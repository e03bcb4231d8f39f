"""Simulation domains: the knobs that make one simulated survey look different from another.

A domain fixes the ranges the job specs are drawn from (PSF width and wings, reference/science PSF
ratio, PSF-model error, registration error, sky and read noise), the density of real sources, and the mix
of bogus populations (cosmic rays, hot pixels, saturated stars, FFT echoes near the edges, edge glow).
``default`` is the simulator's historical face (its output is unchanged); ``A`` and ``B`` are two clearly
different faces for train-on-one, test-on-the-other experiments; ``domain_from_seed`` draws a random
face between them, for pre-training on many domains.

Densities: the default 50 injections per 512x512 pixels make a dozen small jobs a usable dataset
(about 45 % real among detections). ``density="rapid"`` uses RAPID's real injection density, 100 per
4088x4088 SCA (about 1.6 per 512x512), with OpenUniverse transients scaled alike: 3-5 % real.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

#: RAPID injects 100 point sources per 4088x4088 SCA (pipeline_evaluation_metrics.rst).
RAPID_INJECTIONS_PER_SCA = 100
RAPID_SCA_SIZE = 4088
RAPID_INJECTIONS_PER_512 = RAPID_INJECTIONS_PER_SCA * (512.0 / RAPID_SCA_SIZE) ** 2
#: OpenUniverse transients per 512x512 at RAPID density (a few dozen per SCA).
RAPID_OU_PER_512 = 0.5
DENSITIES = ("sim", "rapid")


@dataclass(frozen=True)
class Domain:
    """Ranges and rates that job specs are drawn from (per 512x512 pixels for the rates)."""

    name: str = "default"
    fwhm_sci: tuple[float, float] = (1.9, 2.2)  # science PSF FWHM (px), uniform
    ref_ratio: tuple[float, float] = (0.86, 0.94)  # reference / science FWHM, uniform
    moffat_beta: float = 2.5  # PSF wings (Moffat beta), of the true PSFs and the PSF models
    psf_error: float = 0.015  # PSF-model FWHM error: sigma (default) or +- half-range (others)
    ref_shift: float = 0.02  # registration error sigma of the resampled reference (px)
    sky_rate: tuple[float, float] = (0.8, 1.4)  # e-/s/pixel, uniform
    read_noise: float = 15.0  # e-
    injections_per_512: float = 50.0
    ou_per_512: float = 8.0
    cosmic_rays_per_512: float = 25.0
    hot_pixels_per_512: float = 12.0
    saturated_stars_per_512: float = 0.0  # extra stars bright enough to saturate both epochs
    echo_fraction: float = 0.0  # FFT echo: copy of bright sources near an edge at the opposite edge
    edge_glow: float = 0.0  # probability that the science image has a glowing, lumpy edge

    @property
    def is_default(self) -> bool:
        return self == DEFAULT

    def with_density(self, density: str) -> Domain:
        """This domain at another density of real sources (``sim`` leaves it as it is)."""
        if density not in DENSITIES:
            raise ValueError(f"density must be one of {DENSITIES}, got {density!r}")
        if density == "sim":
            return self
        return replace(self, injections_per_512=RAPID_INJECTIONS_PER_512, ou_per_512=RAPID_OU_PER_512)

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT = Domain()

DOMAINS: dict[str, Domain] = {
    "default": DEFAULT,
    # A: a sharp PSF, modest noise, mild mismatch and registration errors, some of every artefact
    "A": Domain(
        name="A",
        fwhm_sci=(1.8, 2.3),
        ref_ratio=(0.82, 1.05),
        moffat_beta=2.5,
        psf_error=0.04,
        ref_shift=0.05,
        sky_rate=(0.8, 1.6),
        read_noise=15.0,
        cosmic_rays_per_512=30.0,
        hot_pixels_per_512=15.0,
        saturated_stars_per_512=2.0,
        echo_fraction=0.02,
        edge_glow=0.3,
    ),
    # B: a broader PSF with other wings, more noise, strong mismatch of either sign, visible dipoles
    "B": Domain(
        name="B",
        fwhm_sci=(2.3, 2.8),
        ref_ratio=(0.75, 1.15),
        moffat_beta=3.5,
        psf_error=0.07,
        ref_shift=0.10,
        sky_rate=(1.5, 3.0),
        read_noise=20.0,
        cosmic_rays_per_512=60.0,
        hot_pixels_per_512=30.0,
        saturated_stars_per_512=5.0,
        echo_fraction=0.04,
        edge_glow=0.6,
    ),
}


def _mix(rng, a: float, b: float) -> float:
    lo, hi = min(a, b), max(a, b)
    return float(lo + (hi - lo) * rng.random())


def domain_from_seed(seed: int) -> Domain:
    """A random domain whose every knob lies between (or a little beyond) those of A and B."""
    rng = np.random.default_rng([seed, 13])
    a, b = DOMAINS["A"], DOMAINS["B"]
    f0 = _mix(rng, 1.7, 2.7)
    r0 = _mix(rng, 0.75, 0.95)
    s0 = _mix(rng, 0.7, 2.2)
    return Domain(
        name=f"seed{seed}",
        fwhm_sci=(f0, f0 + _mix(rng, 0.2, 0.5)),
        ref_ratio=(r0, r0 + _mix(rng, 0.15, 0.35)),
        moffat_beta=_mix(rng, 2.2, 4.0),
        psf_error=_mix(rng, 0.02, 0.08),
        ref_shift=_mix(rng, 0.02, 0.12),
        sky_rate=(s0, s0 * _mix(rng, 1.3, 2.0)),
        read_noise=_mix(rng, 12.0, 22.0),
        cosmic_rays_per_512=_mix(rng, a.cosmic_rays_per_512 * 0.5, b.cosmic_rays_per_512 * 1.2),
        hot_pixels_per_512=_mix(rng, a.hot_pixels_per_512 * 0.5, b.hot_pixels_per_512 * 1.2),
        saturated_stars_per_512=_mix(rng, 0.0, 6.0),
        echo_fraction=_mix(rng, 0.0, 0.05),
        edge_glow=_mix(rng, 0.0, 0.7),
    )


def resolve(domain: str | None = None, *, domain_seed: int | None = None, density: str = "sim") -> Domain:
    """The domain named ``domain`` (default, A, B) or drawn from ``domain_seed``, at ``density``."""
    if domain is not None and domain_seed is not None:
        raise ValueError("give a domain name or a domain seed, not both")
    if domain_seed is not None:
        base = domain_from_seed(int(domain_seed))
    else:
        name = domain or "default"
        if name not in DOMAINS:
            raise ValueError(f"domain must be one of {', '.join(DOMAINS)}, got {name!r}")
        base = DOMAINS[name]
    return base.with_density(density)
