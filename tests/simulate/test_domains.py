"""Simulation domains, epochs per field, RAPID density, the new bogus populations and negative catalogs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from rapid_croissant import formats
from rapid_croissant.io import read_photutils_catalog
from rapid_croissant.io.negative import negative_name
from rapid_croissant.simulate import artefacts, domains
from rapid_croissant.simulate.core import load_answer_key
from rapid_croissant.simulate.survey import draw_survey_specs


def test_named_seeded_and_rapid_density_domains():
    assert domains.resolve() == domains.DEFAULT and domains.DEFAULT.is_default
    a, b = domains.resolve("A"), domains.resolve("B")
    assert a != b and a.moffat_beta != b.moffat_beta and a.fwhm_sci[1] <= b.fwhm_sci[0]
    assert domains.resolve(domain_seed=3) == domains.resolve(domain_seed=3) != domains.resolve(domain_seed=4)
    rapid = domains.resolve("B", density="rapid")
    assert rapid.injections_per_512 == pytest.approx(100 * (512 / 4088) ** 2)
    assert rapid.cosmic_rays_per_512 == b.cosmic_rays_per_512
    with pytest.raises(ValueError, match="domain must be one of"):
        domains.resolve("C")
    with pytest.raises(ValueError, match="not both"):
        domains.resolve("A", domain_seed=1)
    with pytest.raises(ValueError, match="density"):
        domains.resolve("A", density="dense")


def test_specs_follow_the_domain_and_group_epochs_into_fields():
    specs = draw_survey_specs(7, size=512, seed=1, domain=domains.resolve("B"), epochs_per_field=3)
    assert [s.jid for s in specs] == list(range(1001, 1008))
    assert [s.field for s in specs] == ["field001"] * 3 + ["field002"] * 3 + ["field003"]
    for f in ("field001", "field002"):
        group = [s for s in specs if s.field == f]
        shared = {
            (s.field_seed, s.ra0, s.dec0, s.filter, s.fwhm_ref, s.ref_shift, s.ref_sky_rate) for s in group
        }
        assert len(shared) == 1  # same sky, same reference
        assert len({s.fwhm_sci for s in group}) == 3 and len({s.seed for s in group}) == 3
        assert len({s.mjd for s in group}) == 3
    assert all(2.3 <= s.fwhm_sci <= 2.8 and s.moffat_beta == 3.5 for s in specs)
    errors = [s.psf_model_error for s in draw_survey_specs(40, size=512, seed=2, domain=domains.resolve("B"))]
    assert min(errors) < 0 < max(errors)  # mismatch residuals of either sign


def test_rapid_density_gives_a_few_percent_real():
    dom = domains.resolve("A", density="rapid")
    specs = draw_survey_specs(400, size=512, seed=0, domain=dom)
    mean_inj = np.mean([s.n_injections for s in specs])
    assert mean_inj == pytest.approx(100 * (512 / 4088) ** 2, rel=0.15)
    # at RAPID's density a 4088^2 SCA holds 100 injections among ~2000 detections: 3-5 % real
    assert 0.02 < (mean_inj + dom.ou_per_512) / 50.0 < 0.06


def test_echoes_appear_at_the_opposite_edge_and_glow_hugs_one_edge():
    stars = pd.DataFrame({"x": [5.0, 250.0, 505.0], "y": [100.0, 250.0, 300.0], "counts": [1e6, 1e6, 1e3]})
    echoes = artefacts.echo_sources(stars, (), (513, 513), fraction=0.03)
    assert len(echoes) == 1  # the faint edge star and the central star leave none
    assert (
        echoes.x[0] == pytest.approx(512 - 5.0)
        and echoes.y[0] == 100.0
        and echoes.counts[0] == pytest.approx(3e4)
    )
    glow = artefacts.edge_glow((513, 513), np.random.default_rng(0), sky_counts=300.0)
    rows, cols = np.nonzero(glow)
    assert glow.min() >= 0 and glow.max() > 0
    assert min(np.ptp(rows), np.ptp(cols)) < 20  # a thin band along one edge
    assert min(rows.min(), cols.min(), 512 - rows.max(), 512 - cols.max()) == 0


def _data(job, name):
    return fits.getdata(job / name)


def test_epochs_of_a_field_share_sky_reference_and_wcs(sim_fields):
    files = formats.FILES_2025.channels
    a, b, c = sim_fields / "jid1001", sim_fields / "jid1002", sim_fields / "jid1003"
    assert np.array_equal(_data(a, files["ref"]), _data(b, files["ref"]))
    assert not np.array_equal(_data(a, files["ref"]), _data(c, files["ref"]))
    assert not np.array_equal(_data(a, files["sci"]), _data(b, files["sci"]))
    ha, hb = fits.getheader(a / files["sci"]), fits.getheader(b / files["sci"])
    assert (ha["CRVAL1"], ha["CRVAL2"]) == (hb["CRVAL1"], hb["CRVAL2"]) and ha["MJD-OBS"] != hb["MJD-OBS"]
    key = load_answer_key(sim_fields)
    assert [j["field"] for j in key.meta["jobs"]] == ["field001", "field001", "field002", "field002"]
    assert key.meta["domain"]["name"] == "A"


def test_negative_catalogs_are_photutils_on_the_negated_difference(sim_fields):
    job = sim_fields / "jid1001"
    names = formats.FILES_2025
    assert negative_name(names.zogy_psfcat) == "diffimage_masked_psfcat_negative.txt"
    assert negative_name("zogy_diffimage_masked_psfcat_finder.txt") == (
        "zogy_diffimage_masked_psfcat_finder_negative.txt"
    )
    diff = np.nan_to_num(_data(job, names.channels["zogy_diff"]))
    for alg in ("zogy", "sfft"):
        psfcat = getattr(names, f"{alg}_psfcat")
        neg = read_photutils_catalog(
            job / negative_name(getattr(names, f"{alg}_finder")), job / negative_name(psfcat)
        )
        # fitted on -diff: mostly positive fluxes (fits next to saturated-star residuals can go negative)
        assert len(neg) > 0 and (neg["flux_fit"] > 0).mean() > 0.5
    neg = read_photutils_catalog(
        job / negative_name(names.zogy_finder), job / negative_name(names.zogy_psfcat)
    )
    ix, iy = np.round(neg["x_fit"]).astype(int), np.round(neg["y_fit"]).astype(int)
    assert np.median(diff[iy, ix]) < 0  # they sit on negative pixels of the difference
