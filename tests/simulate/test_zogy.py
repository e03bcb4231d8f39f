"""ZOGY subtraction on simulated pixels: flux and position of a transient, static-star residuals,
noise normalisation of D and S_corr (with and without source noise), P_D, shapes, padding, validation,
and RAPID's uncertainty map."""

from __future__ import annotations

import numpy as np
import pytest

from rapid_croissant.simulate.zogy import ZogyResult, clipped_std, diff_uncertainty, zogy_subtract

STAMP = 25  # PSF stamp size (odd), centre at pixel 12
HALF = STAMP // 2
SIGMA_NEW, SIGMA_REF = 5.0, 3.0


def moffat(fwhm: float = 2.0, beta: float = 3.5, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    """Moffat profile sampled on a STAMP x STAMP grid, offset (dx, dy) from the centre (unnormalised)."""
    alpha = fwhm / (2 * np.sqrt(2 ** (1 / beta) - 1))
    y, x = np.mgrid[:STAMP, :STAMP] - HALF
    return (1 + ((x - dx) ** 2 + (y - dy) ** 2) / alpha**2) ** -beta


def gauss(fwhm: float = 1.8, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    s = fwhm / (2 * np.sqrt(2 * np.log(2)))
    y, x = np.mgrid[:STAMP, :STAMP] - HALF
    return np.exp(-((x - dx) ** 2 + (y - dy) ** 2) / (2 * s**2))


PSF_NEW = moffat() / moffat().sum()
PSF_REF = gauss() / gauss().sum()
KW = {"psf_new": PSF_NEW, "psf_ref": PSF_REF, "sigma_new": SIGMA_NEW, "sigma_ref": SIGMA_REF}


def render(shape, stars, profile) -> np.ndarray:
    """Noiseless image of (x, y, flux) stars, cut at the image edges (no wrap-around in the sky)."""
    img = np.zeros((shape[0] + 2 * HALF, shape[1] + 2 * HALF))
    norm = profile().sum()  # the same normalisation as the centred PSF stamp
    for x, y, flux in stars:
        ix, iy = round(x), round(y)
        img[iy : iy + STAMP, ix : ix + STAMP] += flux * profile(dx=x - ix, dy=y - iy) / norm
    return img[HALF:-HALF, HALF:-HALF]


def noise(rng, shape):
    return rng.normal(0, SIGMA_NEW, shape), rng.normal(0, SIGMA_REF, shape)


def test_transient_flux_position_and_significance():
    rng = np.random.default_rng(11)
    shape, flux, (x0, y0) = (128, 128), 5000.0, (70, 60)
    n, r = noise(rng, shape)
    n += render(shape, [(x0, y0, flux)], moffat)
    res = zogy_subtract(n, r, **KW)
    assert isinstance(res, ZogyResult)

    yy, xx = np.mgrid[: shape[0], : shape[1]]
    aperture = (xx - x0) ** 2 + (yy - y0) ** 2 <= 8**2
    assert res.diff[aperture].sum() == pytest.approx(flux, rel=0.05)
    # D is not shifted: the peak and the centroid of the transient sit at its true position.
    assert np.unravel_index(np.argmax(res.diff), shape) == (y0, x0)
    box = (xx - x0) ** 2 + (yy - y0) ** 2 <= 3**2
    w = res.diff[box].astype(float)
    assert np.sum(w * xx[box]) / w.sum() == pytest.approx(x0, abs=0.1)
    assert np.sum(w * yy[box]) / w.sum() == pytest.approx(y0, abs=0.1)
    # S_corr peaks there at alpha F_D sqrt(sum P_D^2) (eq. 17 normalised by its background noise).
    assert np.unravel_index(np.argmax(res.scorr), shape) == (y0, x0)
    expected = flux * res.f_d * np.sqrt(np.sum(res.psf.astype(float) ** 2))
    assert expected > 100
    assert res.scorr[y0, x0] == pytest.approx(expected, rel=0.15)
    far = (xx - x0) ** 2 + (yy - y0) ** 2 > 15**2
    assert np.abs(res.scorr[far]).max() < 5.5


def lopsided(dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    """An asymmetric (coma-like) PSF: a core plus a fainter offset lobe."""
    return moffat(dx=dx, dy=dy) + 0.5 * moffat(fwhm=2.5, dx=dx + 1.6, dy=dy + 0.8)


def test_asymmetric_psf_transient():
    # With a lopsided P_n, S must correlate with P_D (eq. 17), not convolve, to peak at the source.
    rng = np.random.default_rng(12)
    shape, flux, (x0, y0) = (128, 128), 8000.0, (50, 75)
    n, r = noise(rng, shape)
    n += render(shape, [(x0, y0, flux)], lopsided)
    psf_new = lopsided() / lopsided().sum()
    res = zogy_subtract(n, r, **(KW | {"psf_new": psf_new}))
    assert np.unravel_index(np.argmax(res.scorr), shape) == (y0, x0)
    expected = flux * res.f_d * np.sqrt(np.sum(res.psf.astype(float) ** 2))
    assert res.scorr[y0, x0] == pytest.approx(expected, rel=0.15)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    assert res.diff[(xx - x0) ** 2 + (yy - y0) ** 2 <= 8**2].sum() == pytest.approx(flux, rel=0.05)


def test_psf_stamps_are_normalised():
    rng = np.random.default_rng(13)
    n, r = noise(rng, (96, 96))
    ref = zogy_subtract(n, r, **KW)
    scaled = zogy_subtract(n, r, **(KW | {"psf_new": 3 * PSF_NEW, "psf_ref": 0.5 * PSF_REF}))
    np.testing.assert_allclose(scaled.diff, ref.diff, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(scaled.psf, ref.psf, rtol=1e-5, atol=1e-8)


def test_static_stars_subtract_to_noise_with_source_variance():
    rng = np.random.default_rng(2)
    shape = (160, 160)
    flux = 2e4
    stars = [(x, y, flux) for x, y in rng.uniform(20, 140, (30, 2))]  # sub-pixel positions
    model_n, model_r = render(shape, stars, moffat), render(shape, stars, gauss)
    # Gaussian approximation of Poisson noise (gain 1); the reference is 4x deeper.
    n, r = noise(rng, shape)
    n += model_n + rng.normal(0, 1, shape) * np.sqrt(model_n)
    r += model_r + rng.normal(0, 1, shape) * np.sqrt(model_r / 4)

    yy, xx = np.mgrid[: shape[0], : shape[1]]
    near = np.zeros(shape, bool)
    for x, y, _ in stars:
        near |= (xx - x) ** 2 + (yy - y) ** 2 <= 3**2
    plain = zogy_subtract(n, r, **KW)
    corrected = zogy_subtract(n, r, var_new=model_n, var_ref=model_r / 4, **KW)
    # Without the source-noise term the stars' Poisson noise looks significant; eqs. 26-29 remove it.
    assert plain.scorr[near].std() > 3
    assert np.abs(corrected.scorr[near]).max() < 5
    assert corrected.scorr[near].std() == pytest.approx(1.0, abs=0.2)
    assert corrected.scorr.std() == pytest.approx(1.0, abs=0.05)
    # The stars are gone from the diff: what is left in r = 3 apertures is noise (< 1 % of the flux).
    sums = [corrected.diff[(xx - x) ** 2 + (yy - y) ** 2 <= 3**2].sum() for x, y, _ in stars]
    assert np.median(np.abs(sums)) < 0.015 * flux


def test_pure_noise_statistics():
    rng = np.random.default_rng(3)
    n, r = noise(rng, (192, 192))
    res = zogy_subtract(n, r, **KW)
    assert res.diff_sigma == pytest.approx(np.hypot(SIGMA_NEW, SIGMA_REF))
    assert res.f_d == pytest.approx(1 / np.hypot(SIGMA_NEW, SIGMA_REF))
    assert res.diff.std() == pytest.approx(res.diff_sigma, rel=0.03)
    assert res.scorr.std() == pytest.approx(1.0, rel=0.05)
    assert abs(res.scorr.mean()) < 0.1


def test_flux_zero_points_scale_diff_to_flux_units():
    rng = np.random.default_rng(4)
    shape, flux, f_n, f_r, (x0, y0) = (128, 128), 6000.0, 2.0, 0.8, (64, 64)
    n, r = noise(rng, shape)
    n += f_n * render(shape, [(x0, y0, flux)], moffat)  # N = F_n P_n (x) T
    res = zogy_subtract(n, r, f_new=f_n, f_ref=f_r, **KW)
    assert res.f_d == pytest.approx(f_n * f_r / np.hypot(SIGMA_NEW * f_r, SIGMA_REF * f_n))  # eq. 15
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    assert res.diff[(xx - x0) ** 2 + (yy - y0) ** 2 <= 64].sum() == pytest.approx(flux, rel=0.05)
    assert res.diff[(xx - x0) ** 2 + (yy - y0) ** 2 > 15**2].std() == pytest.approx(res.diff_sigma, rel=0.05)


@pytest.mark.parametrize("which", ["new", "ref"])
def test_source_variance_normalises_scorr(which):
    rng = np.random.default_rng(5)
    shape = (192, 192)
    extra = np.zeros(shape)
    # Excess variance (e.g. a bright galaxy's Poisson noise) in the right half of one image.
    extra[:, 96:] = 4 * SIGMA_NEW**2
    images = dict(zip(("new", "ref"), noise(rng, shape), strict=True))
    images[which] += rng.normal(0, 1, shape) * np.sqrt(extra)
    plain = zogy_subtract(images["new"], images["ref"], **KW)
    corrected = zogy_subtract(images["new"], images["ref"], **{f"var_{which}": extra}, **KW)
    left, right = np.s_[:, 10:86], np.s_[:, 106:182]  # away from the step and the wrapped edge
    assert plain.scorr[right].std() > 1.4
    assert corrected.scorr[left].std() == pytest.approx(1.0, rel=0.06)
    assert corrected.scorr[right].std() == pytest.approx(1.0, rel=0.06)


def test_psf_d_normalised_centred_and_limit():
    res = zogy_subtract(np.zeros((96, 96)), np.zeros((96, 96)), **KW)
    psf = res.psf.astype(float)
    assert res.psf.dtype == np.float32 and res.psf.shape == PSF_NEW.shape
    assert psf.sum() == pytest.approx(1.0, abs=0.01)
    yy, xx = np.mgrid[:STAMP, :STAMP]
    assert np.sum(psf * xx) / psf.sum() == pytest.approx(HALF, abs=0.05)
    assert np.sum(psf * yy) / psf.sum() == pytest.approx(HALF, abs=0.05)
    # P_D is between the two PSFs and tends to P_n when the reference is noiseless (eq. 14).
    assert PSF_REF.max() > psf.max() > 0.8 * PSF_NEW.max()
    limit = zogy_subtract(np.zeros((96, 96)), np.zeros((96, 96)), **(KW | {"sigma_ref": 1e-4}))
    np.testing.assert_allclose(limit.psf, PSF_NEW, atol=1e-5)
    # A non-square stamp gives a stamp of the same shape.
    rect = zogy_subtract(np.zeros((96, 96)), np.zeros((96, 96)), **(KW | {"psf_new": PSF_NEW[2:-2, :]}))
    assert rect.psf.shape == (STAMP - 4, STAMP)


@pytest.mark.parametrize("shape", [(129, 129), (127, 131), (101, 97)])
def test_odd_shapes_and_float32(shape):
    rng = np.random.default_rng(6)
    n, r = noise(rng, shape)
    x0, y0 = shape[1] // 2 + 3, shape[0] // 2 - 5
    n += render(shape, [(x0, y0, 2000.0)], moffat)
    res = zogy_subtract(n.astype(np.float32), r.astype(np.float32), **KW)
    assert res.diff.shape == res.scorr.shape == shape
    assert res.diff.dtype == res.scorr.dtype == res.psf.dtype == np.float32
    assert np.unravel_index(np.argmax(res.scorr), shape) == (y0, x0)


def test_padding_removes_wrap_around():
    rng = np.random.default_rng(7)
    shape, (x0, y0) = (128, 128), (1, 64)  # a transient cut by the left edge
    n, r = noise(rng, shape)
    n += render(shape, [(x0, y0, 5000.0)], moffat)
    wrapped = zogy_subtract(n, r, **KW)
    padded = zogy_subtract(n, r, pad=16, **KW)
    assert padded.diff.shape == padded.scorr.shape == shape
    # Circular FFTs carry the transient (and its cut) to the right edge unless the images are padded.
    right_edge = np.s_[:, -3:]
    assert np.abs(wrapped.scorr[right_edge]).max() > 20
    assert np.abs(padded.scorr[right_edge]).max() < 5
    assert padded.diff[y0, x0] == pytest.approx(wrapped.diff[y0, x0], rel=0.01)
    assert padded.scorr[y0, x0] > 20


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"new": "nan"}, "new"),
        ({"ref": "nan"}, "ref"),
        ({"ref": (64, 65)}, "ref"),
        ({"psf_new": np.ones((4, 5))}, "psf_new"),
        ({"psf_ref": np.ones((5, 6))}, "psf_ref"),
        ({"psf_ref": np.ones((81, 81))}, "psf_ref"),
        ({"sigma_new": 0.0}, "sigma_new"),
        ({"sigma_ref": -1.0}, "sigma_ref"),
        ({"f_ref": np.nan}, "f_ref"),
        ({"pad": -1}, "pad"),
        ({"pad": 2.5}, "pad"),
        ({"var_new": "neg"}, "var_new"),
        ({"var_ref": (3, 3)}, "var_ref"),
    ],
)
def test_validation_names_the_parameter(change, name):
    args = {"new": np.zeros((64, 64)), "ref": np.zeros((64, 64))} | KW
    for key, value in change.items():
        if isinstance(value, tuple):
            value = np.zeros(value)
        elif isinstance(value, str):
            value = np.zeros((64, 64))
            value[5, 5] = np.nan if change[key] == "nan" else -1.0
        args[key] = value
    with pytest.raises(ValueError, match=name):
        zogy_subtract(args.pop("new"), args.pop("ref"), **args)


def test_diff_uncertainty_hand_checked():
    sci = np.array([[100.0, -50.0], [np.nan, 0.0]])
    ref = np.array([[40.0, 20.0], [10.0, 30.0]])
    cov = np.array([[2.0, 0.3], [1.0, np.nan]])
    unc = diff_uncertainty(sci, ref, exptime=10.0, gain=2.0, coverage=cov, diff_std=3.0)
    expected = np.array(
        [
            [np.sqrt(100 / 20 + 40 / 40 + 9), np.sqrt(50 / 20 + 20 / 20 + 9)],  # cov 0.3 -> 1
            [3.0, np.sqrt(0 + 30 / 20 + 9)],  # NaN input -> diff_std; NaN cov -> 1
        ]
    )
    assert unc.dtype == np.float32
    np.testing.assert_allclose(unc, expected, rtol=1e-6)
    no_cov = diff_uncertainty(sci, ref, exptime=10.0, diff_std=3.0)
    assert no_cov[0, 0] == pytest.approx(np.sqrt(100 / 10 + 40 / 10 + 9))
    with pytest.raises(ValueError, match="exptime"):
        diff_uncertainty(sci, ref, exptime=0.0, diff_std=3.0)
    with pytest.raises(ValueError, match="coverage"):
        diff_uncertainty(sci, ref, exptime=1.0, coverage=np.ones(3), diff_std=3.0)


def test_clipped_std_ignores_outliers_and_nans():
    rng = np.random.default_rng(8)
    img = rng.normal(10.0, 2.0, (128, 128))
    img[::16, ::16] = 1e4  # bright "sources"
    img[5, :] = np.nan
    assert clipped_std(img) == pytest.approx(2.0, rel=0.05)  # 3-sigma clipping biases it ~1.5 % low
    assert np.nanstd(img) > 50
    with pytest.raises(ValueError, match="sigma"):
        clipped_std(img, sigma=0)
    with pytest.raises(ValueError, match="finite"):
        clipped_std(np.full((4, 4), np.nan))
