"""Job specs of a simulated survey drawn from a domain, with several epochs per sky field.

The jobs of one field see the same sky: the same static scene (stars, galaxies), the same reference image
(coverage, PSF, registration error and noise) and the same WCS, so their footprints overlap exactly; each
epoch has its own science PSF, PSF-model error, sky level, date, pointing, transients, injections and
artefacts. Fields are numbered ``field001``, ``field002``, ...; the field is recorded in the answer key
(``simulation.json``), never in the job folders: the pipeline finds shared sky from the WCS.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from rapid_croissant.simulate import constants, scene
from rapid_croissant.simulate.domains import Domain

FILTER_CYCLE = ("H158", "J129", "Y106", "F184", "Z087", "K213", "R062")
#: Days between the epochs of one field (Roman's High Latitude Time Domain Survey cadence).
CADENCE_DAYS = 5.0


def _field(rng: np.random.Generator, k: int, domain: Domain) -> dict:
    """What every epoch of field ``k`` shares."""
    flt = FILTER_CYCLE[k % len(FILTER_CYCLE)]
    fwhm_mid = float(np.mean(domain.fwhm_sci))
    return {
        "field": f"field{k + 1:03d}",
        "field_seed": int(rng.integers(2**31)),
        "filter": flt,
        "sca": int(rng.integers(1, 19)),
        "mjd0": float(62000.0 + 700.0 * rng.random()),
        "exptime": constants.EXPTIME_TYPICAL[flt],
        "fwhm_ref": fwhm_mid * rng.uniform(*domain.ref_ratio),
        "ref_shift": (float(rng.normal(0, domain.ref_shift)), float(rng.normal(0, domain.ref_shift))),
        "ref_sky_rate": float(rng.uniform(*domain.sky_rate)),
        "ra0": float(rng.uniform(7.0, 12.0)),
        "dec0": float(rng.uniform(-46.0, -42.0)),
    }


def _epoch_spec(rng, jid: int, f: dict, epoch: int, *, size: int, domain: Domain, shared_sky: bool, **kw):
    area = (size / 512.0) ** 2
    fwhm = float(rng.uniform(*domain.fwhm_sci))
    return scene.JobSpec(
        jid=jid,
        seed=int(rng.integers(2**31)),
        size=size,
        filter=f["filter"],
        pointing=int(rng.integers(100, 30000)),
        sca=f["sca"],
        mjd=round(f["mjd0"] + CADENCE_DAYS * epoch + float(rng.uniform(-0.5, 0.5)), 6),
        exptime=f["exptime"],
        fwhm_sci=fwhm,
        fwhm_ref=f["fwhm_ref"] if shared_sky else fwhm * float(rng.uniform(*domain.ref_ratio)),
        ref_shift=f["ref_shift"],
        psf_model_error=float(rng.uniform(-domain.psf_error, domain.psf_error)),
        sky_rate=float(rng.uniform(*domain.sky_rate)),
        ra0=f["ra0"],
        dec0=f["dec0"],
        n_injections=int(rng.poisson(domain.injections_per_512 * area)),
        domain=domain.name,
        field=f["field"],
        field_seed=f["field_seed"] if shared_sky else None,
        moffat_beta=domain.moffat_beta,
        read_noise=domain.read_noise,
        ref_sky_rate=f["ref_sky_rate"] if shared_sky else None,
        ou_per_512=domain.ou_per_512,
        cosmic_rays_per_512=domain.cosmic_rays_per_512,
        hot_pixels_per_512=domain.hot_pixels_per_512,
        saturated_stars=int(rng.poisson(domain.saturated_stars_per_512 * area)),
        echo_fraction=domain.echo_fraction,
        edge_glow=bool(rng.random() < domain.edge_glow),
        **kw,
    )


def draw_survey_specs(
    n: int,
    *,
    size: int,
    seed: int,
    domain: Domain,
    epochs_per_field: int = 1,
    first_jid: int = 1001,
    negative_catalogs: bool = False,
) -> list[scene.JobSpec]:
    """Specs of ``n`` jobs: ``ceil(n / epochs_per_field)`` fields, epochs of a field in consecutive jids."""
    if epochs_per_field < 1:
        raise ValueError(f"epochs_per_field must be at least 1, got {epochs_per_field}")
    # the domain's name is part of the seed: two domains drawn with one seed do not share sky
    rng = np.random.default_rng([seed, 11, zlib.crc32(domain.name.encode())])
    shared = epochs_per_field > 1
    specs = []
    for k in range(math.ceil(n / epochs_per_field)):
        f = _field(rng, k, domain)
        for e in range(min(epochs_per_field, n - k * epochs_per_field)):
            jid = first_jid + len(specs)
            specs.append(
                _epoch_spec(
                    rng,
                    jid,
                    f,
                    e,
                    size=size,
                    domain=domain,
                    shared_sky=shared,
                    negative_catalogs=negative_catalogs,
                )
            )
    return specs
