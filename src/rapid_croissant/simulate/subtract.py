"""Run the two subtraction algorithms on simulated pixels, as RAPID does.

ZOGY: the project's implementation of Zackay, Ofek & Gal-Yam (2016) (``simulate.zogy``); products masked
(NaN) where the reference coverage is below 0.5 (rapid_formats.md §2.2).

SFFT: the ``sfft`` package (Hu et al. 2022), NumPy backend, in RAPID's cross-convolution mode: the science
image is convolved with the reference PSF and the reference with the science PSF, SFFT solves for the
matching kernel on those (``cconv`` difference, in flux units), and the difference is then decorrelated
with sfft's ``DeCorrelation_Calculator`` (``dconv`` difference). Both are float64 and NaN where the
reference is exactly 0, as RAPID writes them.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from rapid_croissant.simulate import optics, zogy

log = logging.getLogger(__name__)

#: SFFT settings: kernel half-width (the cross-convolved images need only a small kernel) and polynomial
#: orders of the kernel and background variation.
SFFT_KER_HW = 4
SFFT_KER_POLY = 1
SFFT_BG_POLY = 0
PSF_STAMP = 31


@dataclass
class ZogyProducts:
    diff: np.ndarray
    scorr: np.ndarray
    uncert: np.ndarray
    psf: np.ndarray


@dataclass
class SfftProducts:
    dconv: np.ndarray  # float64
    cconv: np.ndarray  # float64
    uncert: np.ndarray  # float32
    psf: np.ndarray  # PSF of the decorrelated difference (float32 stamp)


def model_psfs(
    fwhm_sci: float, fwhm_ref: float, error: float, *, beta: float = optics.MOFFAT_BETA
) -> tuple[np.ndarray, np.ndarray]:
    """The PSF models the pipeline uses: the true PSFs with a small FWHM error (as measured PSFs have)."""
    psf_n = optics.psf_stamp(fwhm_sci * (1.0 + error), size=PSF_STAMP, beta=beta).astype(np.float32)
    psf_r = optics.psf_stamp(fwhm_ref * (1.0 - error), size=PSF_STAMP, beta=beta).astype(np.float32)
    return psf_n, psf_r


def run_zogy(sci, ref, cov, *, psf_n, psf_r, exptime: float) -> ZogyProducts:
    """ZOGY on the NaN-free inputs, then RAPID's masking and uncertainty map."""
    covered = cov > 0.5
    sigma_n = zogy.clipped_std(sci)
    sigma_r = zogy.clipped_std(ref[covered])
    var_n = np.clip(sci, 0, None) / exptime
    var_r = np.clip(ref, 0, None) / (exptime * np.maximum(cov, 1.0))
    res = zogy.zogy_subtract(
        sci,
        ref,
        psf_new=psf_n,
        psf_ref=psf_r,
        sigma_new=sigma_n,
        sigma_ref=sigma_r,
        var_new=var_n,
        var_ref=var_r,
    )
    diff, scorr = res.diff.copy(), res.scorr.copy()
    diff[~covered] = np.nan
    scorr[~covered] = np.nan
    std = zogy.clipped_std(diff[covered])
    uncert = zogy.diff_uncertainty(sci, ref, exptime=exptime, coverage=cov, diff_std=std)
    return ZogyProducts(diff=diff, scorr=scorr, uncert=uncert, psf=res.psf)


def _sfft_matching(cs: np.ndarray, cr: np.ndarray, ms: np.ndarray, mr: np.ndarray):
    """SFFT (NumPy backend) with the reference side convolved: DIFF = SCI - K (x) REF, and K at the centre."""
    from sfft.sfftcore.SFFTConfigure import SingleSFFTConfigure
    from sfft.sfftcore.SFFTSubtract import GeneralSFFTSubtract
    from sfft.utils.SFFTSolutionReader import Realize_MatchingKernel

    ny, nx = cs.shape
    # sfft works on arrays indexed [x, y] (FITS data transposed)
    with contextlib.redirect_stdout(io.StringIO()):
        cfg = SingleSFFTConfigure.SSC(
            NX=nx,
            NY=ny,
            KerHW=SFFT_KER_HW,
            KerPolyOrder=SFFT_KER_POLY,
            BGPolyOrder=SFFT_BG_POLY,
            ConstPhotRatio=True,
            BACKEND_4SUBTRACT="Numpy",
            NUM_CPU_THREADS_4SUBTRACT=1,
            VERBOSE_LEVEL=0,
        )
        solution, diff_t = GeneralSFFTSubtract.GSS(
            PixA_I=np.ascontiguousarray(cr.T),
            PixA_J=np.ascontiguousarray(cs.T),
            PixA_mI=np.ascontiguousarray(mr.T),
            PixA_mJ=np.ascontiguousarray(ms.T),
            SFFTConfig=cfg,
            ContamMask_I=None,
            BACKEND_4SUBTRACT="Numpy",
            NUM_CPU_THREADS_4SUBTRACT=1,
            VERBOSE_LEVEL=0,
        )[:2]
    c = cfg[0]
    kern = Realize_MatchingKernel(np.array([[nx / 2.0 + 0.5, ny / 2.0 + 0.5]])).FromArray(
        Solution=solution, N0=c["N0"], N1=c["N1"], L0=c["L0"], L1=c["L1"], DK=c["DK"], Fpq=c["Fpq"]
    )[0]
    return np.ascontiguousarray(diff_t.T), np.ascontiguousarray(kern.T)


def _fit_mask(image: np.ndarray, covered: np.ndarray, sigma: float) -> np.ndarray:
    """Pixels SFFT may use to solve the kernel: covered, away from saturated/very bright cores and edges."""
    bright = ndimage.binary_dilation(image > 300.0 * sigma, iterations=6)
    good = covered & ~bright
    good[:12, :] = good[-12:, :] = False
    good[:, :12] = good[:, -12:] = False
    return good


def run_sfft(sci, ref, cov, *, psf_n, psf_r, exptime: float) -> SfftProducts:
    """SFFT in RAPID's cross-convolution mode, then decorrelation, masking and the uncertainty map."""
    from sfft.utils.DeCorrelationCalculator import DeCorrelation_Calculator

    sci64, ref64 = sci.astype(np.float64), ref.astype(np.float64)
    cs = optics.convolve_same(sci64, psf_r.astype(np.float64))  # science (x) reference PSF
    cr = optics.convolve_same(ref64, psf_n.astype(np.float64))  # reference (x) science PSF
    sigma_n = zogy.clipped_std(sci)
    sigma_r = zogy.clipped_std(ref[cov > 0.5])
    good = _fit_mask(sci64, ref64 != 0, sigma_n)
    cconv, kernel = _sfft_matching(cs, cr, np.where(good, cs, 0.0), np.where(good, cr, 0.0))
    with contextlib.redirect_stdout(io.StringIO()):
        kdeco = DeCorrelation_Calculator.DCC(
            MK_JLst=[psf_r.astype(np.float64)],
            SkySig_JLst=[sigma_n],
            MK_ILst=[psf_n.astype(np.float64)],
            SkySig_ILst=[sigma_r],
            MK_Fin=kernel,
            KERatio=2.0,
            VERBOSE_LEVEL=0,
        )
    dconv = optics.convolve_same(cconv, kdeco)
    nocov = ref == 0  # RAPID's SFFT mask: reference exactly 0 (§2.2)
    cconv[nocov] = np.nan
    dconv[nocov] = np.nan
    psf = optics.convolve_same(optics.convolve_same(psf_n.astype(np.float64), psf_r), kdeco)
    psf = (psf / psf.sum()).astype(np.float32)
    std = zogy.clipped_std(dconv[~nocov])
    uncert = zogy.diff_uncertainty(sci, ref, exptime=exptime, coverage=cov, diff_std=std)
    return SfftProducts(dconv=dconv, cconv=cconv, uncert=uncert, psf=psf)
