"""PSFs and image rendering for the simulator.

The PSF is a circular Moffat profile (beta = 2.5), a simple stand-in for Roman's undersampled WFI PSF
(FWHM about 2 px). It is integrated over each pixel by oversampling, so a point source at a sub-pixel
position has the right centroid. Point sources are drawn one stamp at a time at their exact position;
extended galaxies are pixelised without the PSF and the whole frame is then convolved with the pixel PSF
stamp once, which is exactly the image model ZOGY and SFFT assume (image = sky (x) PSF).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

MOFFAT_BETA = 2.5
OVERSAMPLE = 5


def moffat_alpha(fwhm: float, beta: float = MOFFAT_BETA) -> float:
    """Moffat core width alpha for a given FWHM."""
    return fwhm / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))


def psf_stamp(
    fwhm: float, *, size: int = 31, dx: float = 0.0, dy: float = 0.0, beta: float = MOFFAT_BETA
) -> np.ndarray:
    """Pixel-integrated Moffat PSF on an odd ``size`` stamp, centred at ((size-1)/2 + dx, (size-1)/2 + dy).

    Normalised so that the stamp sums to 1 (flux outside the stamp is folded back in, as RAPID's
    normalised PSF files are).
    """
    if size % 2 == 0:
        raise ValueError(f"size must be odd, got {size}")
    alpha = moffat_alpha(fwhm, beta)
    n = size * OVERSAMPLE
    # sub-pixel sample centres, in pixel units relative to the stamp centre
    c = (np.arange(n) + 0.5) / OVERSAMPLE - size / 2.0
    yy, xx = np.meshgrid(c - dy, c - dx, indexing="ij")
    prof = (1.0 + (xx * xx + yy * yy) / (alpha * alpha)) ** (-beta)
    stamp = prof.reshape(size, OVERSAMPLE, size, OVERSAMPLE).sum(axis=(1, 3))
    return stamp / stamp.sum()


def add_point_sources(
    image: np.ndarray, xs, ys, fluxes, *, fwhm: float, stamp_size: int = 31, beta: float = MOFFAT_BETA
) -> None:
    """Add point sources (0-based positions, fluxes in image units) to ``image`` in place."""
    h, w = image.shape
    half = stamp_size // 2
    for x, y, f in zip(np.asarray(xs), np.asarray(ys), np.asarray(fluxes), strict=True):
        ix, iy = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
        stamp = psf_stamp(fwhm, size=stamp_size, dx=x - ix, dy=y - iy, beta=beta) * f
        x0, y0 = ix - half, iy - half
        xa, ya = max(x0, 0), max(y0, 0)
        xb, yb = min(x0 + stamp_size, w), min(y0 + stamp_size, h)
        if xa >= xb or ya >= yb:
            continue
        image[ya:yb, xa:xb] += stamp[ya - y0 : yb - y0, xa - x0 : xb - x0]


def sersic_stamp(
    *, flux: float, r_eff: float, n: float, q: float, theta: float, dx: float, dy: float, oversample: int = 3
) -> tuple[np.ndarray, int]:
    """Pixel-integrated (PSF-free) Sersic profile stamp centred at (half + dx, half + dy); returns (stamp,
    half)."""
    from scipy.special import gammaincinv

    half = int(np.ceil(min(6.0 * r_eff + 3.0, 60.0)))
    size = 2 * half + 1
    m = size * oversample
    c = (np.arange(m) + 0.5) / oversample - size / 2.0
    yy, xx = np.meshgrid(c - dy, c - dx, indexing="ij")
    ct, st = np.cos(theta), np.sin(theta)
    xr = xx * ct + yy * st
    yr = (-xx * st + yy * ct) / q
    r = np.hypot(xr, yr)
    bn = gammaincinv(2.0 * n, 0.5)
    prof = np.exp(-bn * ((r / r_eff) ** (1.0 / n) - 1.0))
    stamp = prof.reshape(size, oversample, size, oversample).sum(axis=(1, 3))
    return stamp * (flux / stamp.sum()), half


def add_galaxies(image: np.ndarray, galaxies) -> None:
    """Add PSF-free galaxies (a DataFrame with x, y, flux, r_eff, n, q, theta) to ``image`` in place."""
    h, w = image.shape
    for g in galaxies.itertuples(index=False):
        ix, iy = int(np.floor(g.x + 0.5)), int(np.floor(g.y + 0.5))
        stamp, half = sersic_stamp(
            flux=g.flux, r_eff=g.r_eff, n=g.n, q=g.q, theta=g.theta, dx=g.x - ix, dy=g.y - iy
        )
        x0, y0 = ix - half, iy - half
        size = 2 * half + 1
        xa, ya = max(x0, 0), max(y0, 0)
        xb, yb = min(x0 + size, w), min(y0 + size, h)
        if xa < xb and ya < yb:
            image[ya:yb, xa:xb] += stamp[ya - y0 : yb - y0, xa - x0 : xb - x0]


def convolve_same(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve with a small centred kernel, same output shape (FFT; zero outside the image)."""
    return signal.fftconvolve(image, kernel, mode="same")
