"""Proper image subtraction of Zackay, Ofek & Gal-Yam 2016 (ApJ 830, 27; "ZOGY"), as RAPID runs it.

Inputs are the new (science) image N and the reference R on the same pixel grid, background-subtracted
and gain-matched, with known PSF stamps and white background noise. Equation numbers refer to the paper.
The FFTs are circular: without ``pad`` the image edges show wrap-around structure, as in RAPID.
NaN pixels are not allowed: the caller replaces them first (RAPID writes the saturation rate there)
and masks the outputs again afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from astropy.stats import sigma_clipped_stats
from scipy import fft

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class ZogyResult:
    """Products of one ZOGY subtraction (RAPID: diffimage, scorrimage, diffpsf)."""

    diff: np.ndarray  # D / F_D: a source of flux alpha in N appears as alpha * P_D (float32)
    scorr: np.ndarray  # S_corr, matched-filter significance in sigma units (float32)
    psf: np.ndarray  # P_D cut to the shape of psf_new, centred, sum ~ 1 (float32)
    f_d: float  # flux zero point F_D of D (eq. 15)
    diff_sigma: float  # 1-sigma background noise per pixel of `diff` = 1 / F_D


def _image(a, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return a finite 2-D float64 copy of `a`, or raise ValueError naming `name`."""
    a = np.array(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {a.shape}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {shape} (the shape of `new`)")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf pixels; replace them before calling zogy_subtract")
    return a


def _positive(x, name: str) -> float:
    x = float(x)
    if not (np.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {x!r}")
    return x


def _psf_stamp(p, name: str, shape: tuple[int, int]) -> np.ndarray:
    """Validate an odd-sized PSF stamp no larger than the image and normalise it to unit sum."""
    p = _image(p, name)
    if p.shape[0] % 2 == 0 or p.shape[1] % 2 == 0:
        raise ValueError(f"{name} must have odd sizes (centre at ((n-1)/2, (n-1)/2)), got {p.shape}")
    if p.shape[0] > shape[0] or p.shape[1] > shape[1]:
        raise ValueError(f"{name} stamp {p.shape} is larger than the image {shape}")
    total = p.sum()
    if not total > 0:
        raise ValueError(f"{name} must have a positive sum, got {total!r}")
    return p / total


def _psf_hat(stamp: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """rfft2 of the stamp embedded in a full-size array with its centre moved to pixel (0, 0).

    Moving the centre to the origin (ifftshift-style) keeps D and S on the input pixel grid.
    """
    full = np.zeros(shape)
    full[: stamp.shape[0], : stamp.shape[1]] = stamp
    full = np.roll(full, (-(stamp.shape[0] // 2), -(stamp.shape[1] // 2)), axis=(0, 1))
    return fft.rfft2(full, workers=-1)


def _cut_centred(full: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Cut a `shape` stamp around the origin of a full-size (origin at (0, 0)) kernel, centred."""
    rolled = np.roll(full, (shape[0] // 2, shape[1] // 2), axis=(0, 1))
    return rolled[: shape[0], : shape[1]]


def _convolve(a: np.ndarray, kernel_hat: np.ndarray) -> np.ndarray:
    return fft.irfft2(fft.rfft2(a, workers=-1) * kernel_hat, s=a.shape, workers=-1)


def zogy_subtract(
    new,
    ref,
    *,
    psf_new,
    psf_ref,
    sigma_new: float,
    sigma_ref: float,
    f_new: float = 1.0,
    f_ref: float = 1.0,
    var_new=None,
    var_ref=None,
    pad: int | None = None,
) -> ZogyResult:
    """Subtract `ref` from `new` with ZOGY and return D / F_D, S_corr and P_D.

    `sigma_new`, `sigma_ref` are the per-pixel background noise sigmas (image units); `f_new`, `f_ref`
    the flux zero points. `var_new`, `var_ref` are optional source-noise variance maps (variance in
    excess of the background, e.g. max(image, 0) / gain / exptime) for the S_corr correction (eqs. 26-29).
    PSF stamps are normalised to unit sum. `pad` zero-pads each side by that many pixels to suppress
    wrap-around, and the outputs are cropped back (None or 0: no padding, as RAPID).
    """
    n = _image(new, "new")
    r = _image(ref, "ref", n.shape)
    p_n = _psf_stamp(psf_new, "psf_new", n.shape)
    p_r = _psf_stamp(psf_ref, "psf_ref", n.shape)
    s_n, s_r = _positive(sigma_new, "sigma_new"), _positive(sigma_ref, "sigma_ref")
    f_n, f_r = _positive(f_new, "f_new"), _positive(f_ref, "f_ref")
    variances = {}
    for name, v in (("var_new", var_new), ("var_ref", var_ref)):
        if v is not None:
            v = _image(v, name, n.shape)
            if np.any(v < 0):
                raise ValueError(f"{name} must be >= 0 everywhere")
            variances[name] = v
    if pad is not None and (isinstance(pad, bool) or not isinstance(pad, int | np.integer) or pad < 0):
        raise ValueError(f"pad must be None or an int >= 0, got {pad!r}")
    pad = int(pad or 0)
    if pad:
        n, r = np.pad(n, pad), np.pad(r, pad)
        variances = {k: np.pad(v, pad) for k, v in variances.items()}
    shape = n.shape

    pn_hat, pr_hat = _psf_hat(p_n, shape), _psf_hat(p_r, shape)
    pn2, pr2 = np.abs(pn_hat) ** 2, np.abs(pr_hat) ** 2
    # Squared denominator of eqs. 13-14: the noise power of F_r P_r N - F_n P_n R. It is >= 0 and only
    # exactly 0 where both PSF transforms vanish; there nothing is measured, so those modes are set to 0.
    den2 = s_n**2 * f_r**2 * pr2 + s_r**2 * f_n**2 * pn2
    good = den2 > 0
    den2 = np.where(good, den2, 1.0)
    den = np.sqrt(den2)
    f_d = f_r * f_n / np.sqrt(s_n**2 * f_r**2 + s_r**2 * f_n**2)  # eq. 15

    # Eq. 13: D has white noise of unit variance; eq. 14: its PSF P_D, with P_D_hat(0) = 1.
    d_hat = np.where(
        good, (f_r * pr_hat * fft.rfft2(n, workers=-1) - f_n * pn_hat * fft.rfft2(r, workers=-1)) / den, 0
    )
    del n, r
    pd_hat = np.where(good, f_r * f_n * pr_hat * pn_hat / (f_d * den), 0)
    # Eq. 17: S = F_D * (D correlated with P_D), the optimal point-source statistic.
    s = fft.irfft2(f_d * d_hat * np.conj(pd_hat), s=shape, workers=-1)
    d = fft.irfft2(d_hat, s=shape, workers=-1)
    del d_hat
    p_d = fft.irfft2(pd_hat, s=shape, workers=-1)

    # Background variance of S: D is unit white noise, so V_bkg = F_D^2 sum(P_D^2) (equal to
    # sigma_n^2 sum(k_n^2) + sigma_r^2 sum(k_r^2) by Parseval).
    var_s = np.full(shape, f_d**2 * np.sum(p_d**2))
    # Eqs. 26-29: S = k_n * N - k_r * R, with k_n_hat = F_n F_r^2 conj(P_n_hat) |P_r_hat|^2 / den^2 and
    # k_r_hat = F_r F_n^2 conj(P_r_hat) |P_n_hat|^2 / den^2, so an independent per-pixel source variance V
    # of N (or R) adds V (x) k_n^2 (or V (x) k_r^2) to the variance of S.
    for name, v in variances.items():
        if name == "var_new":
            k_hat = f_n * f_r**2 * np.conj(pn_hat) * pr2
        else:
            k_hat = f_r * f_n**2 * np.conj(pr_hat) * pn2
        k = fft.irfft2(np.where(good, k_hat / den2, 0), s=shape, workers=-1)
        var_s += np.clip(_convolve(v, fft.rfft2(k**2, workers=-1)), 0, None)
    scorr = s / np.sqrt(var_s)

    if pad:
        d, scorr = d[pad:-pad, pad:-pad], scorr[pad:-pad, pad:-pad]
    log.debug("ZOGY on %s (pad %d): F_D=%.6g, sum P_D=%.6f", shape, pad, f_d, p_d.sum())
    return ZogyResult(
        diff=(d / f_d).astype(np.float32),
        scorr=scorr.astype(np.float32),
        psf=_cut_centred(p_d, p_n.shape).astype(np.float32),
        f_d=float(f_d),
        diff_sigma=float(1.0 / f_d),
    )


def clipped_std(image, *, sigma: float = 3.0) -> float:
    """Sigma-clipped standard deviation of the finite pixels (RAPID's detection threshold uses 3 sigma)."""
    sigma = _positive(sigma, "sigma")
    a = np.asarray(image, dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0:
        raise ValueError("image has no finite pixels")
    return float(sigma_clipped_stats(a, sigma=sigma)[2])


def diff_uncertainty(
    sci, ref, *, exptime: float, gain: float = 1.0, coverage=None, diff_std: float
) -> np.ndarray:
    """RAPID's difference-image uncertainty map (rapid_formats.md 2.2), in DN/s, float32, never NaN.

    sqrt(|sci| / (gain EXPTIME) + |ref| / (gain EXPTIME cov) + diff_std^2): Poisson variance of the two
    rate images plus the clipped background std of the difference. cov is 1.0 where it is < 0.5, NaN
    or not given; pixels that are still NaN (NaN input) get `diff_std`.
    """
    exptime, gain = _positive(exptime, "exptime"), _positive(gain, "gain")
    diff_std = float(diff_std)
    if not (np.isfinite(diff_std) and diff_std >= 0):
        raise ValueError(f"diff_std must be a finite number >= 0, got {diff_std!r}")
    sci = np.asarray(sci, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if ref.shape != sci.shape:
        raise ValueError(f"ref has shape {ref.shape}, expected {sci.shape} (the shape of `sci`)")
    cov = np.ones(sci.shape)
    if coverage is not None:
        coverage = np.asarray(coverage, dtype=np.float64)
        if coverage.shape != sci.shape:
            raise ValueError(f"coverage has shape {coverage.shape}, expected {sci.shape}")
        ok = np.isfinite(coverage) & (coverage >= 0.5)
        cov[ok] = coverage[ok]
    unc = np.sqrt(np.abs(sci) / (gain * exptime) + np.abs(ref) / (gain * exptime * cov) + diff_std**2)
    return np.where(np.isfinite(unc), unc, diff_std).astype(np.float32)
