"""RAPID's input formats: job files of the 2025 and 2026 product eras, image channels, photutils and
SExtractor catalog columns, truth-file patterns and photometric zero points. Shared by ``io/`` (which reads
them) and ``simulate/`` (which writes them); the dataset we write is described by ``dataset/schema.py``.

Format facts come from ``docs/rapid_formats.md`` (a copy of the project's format notes, established
from RAPID's own code); section numbers below refer to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------------
# Photometric constants (rapid_formats.md §5.1, §6)
# --------------------------------------------------------------------------------------------------

#: AB zero point of each galsim Roman bandpass (photons/s/cm^2), galsim 2.8.5
#: ``roman.getBandpasses(AB_zeropoint=True)``. AB = -2.5 log10(counts) + ZPTMAG + ZP_BAND[filter].
ZP_BAND = {
    "R062": 15.297,
    "Z087": 14.964,
    "Y106": 15.024,
    "J129": 15.040,
    "H158": 15.074,
    "F184": 14.622,
    "K213": 14.579,
}

#: RAPID injects fake point sources uniformly in AB magnitude over this range (difference-image header
#: keywords MNMAGINJ / MXMAGINJ, rapid_formats.md §5.1).
INJECTION_MAG_RANGE = (21.0, 28.0)

# --------------------------------------------------------------------------------------------------
# Job discovery
# --------------------------------------------------------------------------------------------------

#: Only directories whose whole name matches this are RAPID jobs (``jid_backup_old`` is not).
JOB_DIR_PATTERN = re.compile(r"^jid\d+$")

# --------------------------------------------------------------------------------------------------
# Image channels, in the seed's order
# --------------------------------------------------------------------------------------------------

#: The nine channels of ``images/<jid>.npy``, in the seed's order (seed README, "Image Tensor Format").
CHANNELS: tuple[str, ...] = (
    "sci",  # background-subtracted science image
    "ref",  # resampled, gain-matched reference image
    "zogy_diff",  # ZOGY positive difference (masked)
    "zogy_scorr",  # ZOGY S_corr significance (masked)
    "sfft_diff",  # SFFT decorrelated difference (masked)
    "sfft_scorr",  # SFFT cross-convolved difference (masked), "akin to SCORR"
    "psf",  # ZOGY difference-image PSF P_D (a small stamp, resized to the image shape)
    "zogy_uncert",  # uncertainty of the ZOGY difference
    "sfft_uncert",  # uncertainty of the SFFT difference
)

CHANNEL_DESCRIPTIONS = {
    "sci": "Background-subtracted science image (DN/s)",
    "ref": "Resampled, gain-matched, background-subtracted reference image (DN/s)",
    "zogy_diff": "ZOGY positive difference image, masked (DN/s)",
    "zogy_scorr": "ZOGY S_corr significance image, masked (sigma)",
    "sfft_diff": "SFFT decorrelated difference image, masked (DN/s)",
    "sfft_scorr": "SFFT cross-convolved difference image, masked (DN/s)",
    "psf": "ZOGY difference-image PSF stamp, bilinearly resized to the image shape (seed behaviour)",
    "zogy_uncert": "1-sigma uncertainty of the ZOGY difference image (DN/s)",
    "sfft_uncert": "1-sigma uncertainty of the SFFT difference image (DN/s)",
}

#: Channels that are small stamps rather than full frames.
STAMP_CHANNELS = frozenset({"psf"})

ERA_2025 = "2025"
ERA_2026 = "2026"
ERAS = (ERA_2025, ERA_2026)


@dataclass(frozen=True)
class JobFiles:
    """Canonical file names in one job folder of one product era (§1)."""

    era: str
    channels: dict[str, str]  # channel -> FITS file name
    zogy_finder: str
    zogy_psfcat: str
    sfft_finder: str
    sfft_psfcat: str
    zogy_sextractor: str
    sfft_sextractor: str
    optional: tuple[str, ...] = ()  # extra products of the era, read when present, never required

    @property
    def catalogs(self) -> dict[str, str]:
        return {
            "zogy_finder": self.zogy_finder,
            "zogy_psfcat": self.zogy_psfcat,
            "sfft_finder": self.sfft_finder,
            "sfft_psfcat": self.sfft_psfcat,
            "zogy_sextractor": self.zogy_sextractor,
            "sfft_sextractor": self.sfft_sextractor,
        }


_SFFT_CHANNELS = {
    "sfft_diff": "sfftdiffimage_dconv_masked.fits",
    "sfft_scorr": "sfftdiffimage_cconv_masked.fits",
    "sfft_uncert": "sfftdiffimage_uncert_masked.fits",
}

FILES_2025 = JobFiles(
    era=ERA_2025,
    channels={
        "sci": "bkg_subbed_science_image.fits",
        "ref": "awaicgen_output_mosaic_image_resampled_gainmatched.fits",
        "zogy_diff": "diffimage_masked.fits",
        "zogy_scorr": "scorrimage_masked.fits",
        **{k: v for k, v in _SFFT_CHANNELS.items() if k != "sfft_uncert"},
        "psf": "diffpsf.fits",
        "zogy_uncert": "diffimage_uncert_masked.fits",
        "sfft_uncert": _SFFT_CHANNELS["sfft_uncert"],
    },
    zogy_finder="diffimage_masked_psfcat_finder.txt",
    zogy_psfcat="diffimage_masked_psfcat.txt",
    sfft_finder="sfftdiffimage_masked_psfcat_finder.txt",
    sfft_psfcat="sfftdiffimage_masked_psfcat.txt",
    zogy_sextractor="diffimage_masked.txt",
    sfft_sextractor="sfftdiffimage_cconv_masked.txt",
)

# 2026 era (from the 3/25/2026 test on): most ZOGY difference products gain a ``zogy_`` prefix;
# scorrimage_masked.fits and diffpsf.fits keep their names; extra products appear (§1).
FILES_2026 = JobFiles(
    era=ERA_2026,
    channels={
        **FILES_2025.channels,
        "zogy_diff": "zogy_diffimage_masked.fits",
        "zogy_uncert": "zogy_diffimage_uncert_masked.fits",
    },
    zogy_finder="zogy_diffimage_masked_psfcat_finder.txt",
    zogy_psfcat="zogy_diffimage_masked_psfcat.txt",
    sfft_finder=FILES_2025.sfft_finder,
    sfft_psfcat=FILES_2025.sfft_psfcat,
    zogy_sextractor="zogy_diffimage_masked.txt",
    sfft_sextractor=FILES_2025.sfft_sextractor,
    optional=(
        "zogy_diffimage_masked_psfcat.parquet",
        "sfftdiffimage_masked_psfcat.parquet",
        "sfftdiffpsf.fits",
    ),
)

FILES_BY_ERA = {ERA_2025: FILES_2025, ERA_2026: FILES_2026}

#: The two subtraction algorithms RAPID runs side by side.
SUBTRACTIONS = ("zogy", "sfft")
#: Channels produced by each subtraction (a job whose SFFT failed has none of the SFFT ones).
SUBTRACTION_CHANNELS = {
    "zogy": ("zogy_diff", "zogy_scorr", "zogy_uncert", "psf"),
    "sfft": ("sfft_diff", "sfft_scorr", "sfft_uncert"),
}

#: Catalog files the seed copies into ``catalogs/`` (both eras' names; copied when present).
SEED_CATALOG_FILES = tuple(
    """
    diffimage_masked.txt diffimage_masked_sepsfcat.txt diffimage_masked_psfcat_finder.txt
    diffimage_masked_psfcat.txt sfftdiffimage_cconv_masked.txt sfftdiffimage_masked_sepsfcat.txt
    sfftdiffimage_masked_psfcat_finder.txt sfftdiffimage_masked_psfcat.txt zogy_diffimage_masked.txt
    zogy_diffimage_masked_sepsfcat.txt zogy_diffimage_masked_psfcat_finder.txt
    zogy_diffimage_masked_psfcat.txt
    """.split()
)

# --------------------------------------------------------------------------------------------------
# Science-image header file and truth files (§1, §5)
# --------------------------------------------------------------------------------------------------

#: The reformatted science image whose primary header carries FILTER, ZPTMAG, EXPTIME, MJD-OBS, ...
SCIENCE_HEADER_PATTERN = re.compile(
    r"^Roman_TDS_simple_model_(?P<filter>[A-Za-z]\d+)_(?P<pointing>\d+)_(?P<sca>\d+)"
    r"_lite(?:_inject)?_reformatted\.fits$"
)
#: Injection list: header ``xpix ypix flux``; 1-based positions; flux in counts of the raw exposure.
INJECTION_PATTERN = re.compile(
    r"^Roman_TDS_simple_model_(?P<filter>[A-Za-z]\d+)_(?P<pointing>\d+)_(?P<sca>\d+)_lite_inject\.txt$"
)
#: OpenUniverse truth index (galsim writeAscii, fixed width, ``# `` header, 1-based x y).
OU_INDEX_PATTERN = re.compile(
    r"^Roman_TDS_index_(?P<filter>[A-Za-z]\d+)_(?P<pointing>\d+)_(?P<sca>\d+)\.txt$"
)

#: Header keywords read from the science image (falling back to the other products' headers).
HEADER_KEYWORDS = ("FILTER", "ZPTMAG", "EXPTIME", "MJD-OBS", "DATE-OBS", "SCA_NUM")

INJECTION_COLUMNS = ("xpix", "ypix", "flux")
OU_COLUMNS = ("object_id", "ra", "dec", "x", "y", "realized_flux", "flux", "mag", "obj_type")
OU_TRANSIENT_TYPE = "transient"

#: Truth and OU positions are galsim image positions, 1-based (§5.3). Subtract this to get 0-based.
DEFAULT_TRUTH_ORIGIN = 1

# --------------------------------------------------------------------------------------------------
# photutils catalogs (§3.2): both eras are mapped onto the 2025 (photutils 2) names internally
# --------------------------------------------------------------------------------------------------

FINDER_COLUMNS_2025 = tuple(
    """
    id xcentroid ycentroid sharpness roundness1 roundness2 npix peak flux mag daofind_mag
    """.split()
)
FINDER_COLUMNS_2026 = tuple(
    """
    id x_centroid y_centroid sharpness roundness1 roundness2 n_pixels peak flux mag daofind_mag
    """.split()
)
PSFCAT_COLUMNS_2025 = tuple(
    """
    id group_id group_size local_bkg x_init y_init flux_init x_fit y_fit flux_fit x_err y_err flux_err
    npixfit qfit cfit flags ra dec
    """.split()
)
PSFCAT_COLUMNS_2026 = tuple(
    """
    id group_id group_size local_bkg x_init y_init flux_init x_fit y_fit flux_fit x_err y_err flux_err
    n_pixels_fit qfit cfit reduced_chi2 flags ra dec
    """.split()
)
#: photutils 3 name -> internal (photutils 2) name.
PHOTUTILS_RENAME = {
    "x_centroid": "xcentroid",
    "y_centroid": "ycentroid",
    "n_pixels": "npix",
    "n_pixels_fit": "npixfit",
}
#: Columns a finder / psfcat file must have (internal names) to be usable.
FINDER_REQUIRED = FINDER_COLUMNS_2025  # every finder column, in internal names
PSFCAT_REQUIRED = ("id", "x_fit", "y_fit", "flux_fit", "flux_err", "qfit", "cfit", "flags")

#: Per-algorithm photutils features carried into the candidates, in the seed's order (internal names).
SEED_FEATURES = (
    "sharpness",
    "roundness1",
    "roundness2",
    "npix",
    "peak",
    "flux",
    "mag",
    "daofind_mag",
    "flags",
)
#: PSF-fit quality carried too (``snr`` = flux_fit / flux_err; ``reduced_chi2`` only in photutils 3 files).
FIT_FEATURES = ("flux_fit", "flux_err", "snr", "qfit", "cfit", "reduced_chi2")

# --------------------------------------------------------------------------------------------------
# SExtractor ASCII_HEAD catalogs (§4): 1-based *_IMAGE positions
# --------------------------------------------------------------------------------------------------


def _expand(name: str, n: int) -> tuple[str, ...]:
    return tuple(f"{name}_{i}" for i in range(1, n + 1))


#: The parameters of RAPID's ``cdf/rapidSexParamsDiffImage.inp`` in order; ``NAME(n)`` is a vector
#: parameter of n columns (our reader names them NAME_1..NAME_n).
SEXTRACTOR_PARAMETERS: tuple[str, ...] = tuple(
    """
    NUMBER FLAGS XWIN_IMAGE YWIN_IMAGE X_WORLD Y_WORLD XPEAK_IMAGE YPEAK_IMAGE THETAWIN_IMAGE
    ERRTHETAWIN_IMAGE ALPHAWIN_J2000 DELTAWIN_J2000 THETAWIN_J2000 X2WIN_IMAGE Y2WIN_IMAGE XYWIN_IMAGE
    AWIN_WORLD BWIN_WORLD MAG_ISO MAGERR_ISO MAG_AUTO MAGERR_AUTO MAG_ISOCOR MAGERR_ISOCOR MAG_APER(6)
    MAGERR_APER(6) MAG_PETRO MAGERR_PETRO MAG_BEST MAGERR_BEST MU_THRESHOLD MU_MAX BACKGROUND THRESHOLD
    ELONGATION ISOAREA_WORLD ISOAREAF_WORLD ISO0 ISO1 ISO2 ISO3 ISO4 ISO5 ISO6 ISO7 FWHM_IMAGE
    KRON_RADIUS PETRO_RADIUS CLASS_STAR FLUX_BEST FLUXERR_BEST FLUX_AUTO FLUXERR_AUTO FLUX_ISO
    FLUXERR_ISO FLUX_APER(6) FLUXERR_APER(6) X_IMAGE Y_IMAGE X2_IMAGE Y2_IMAGE XY_IMAGE THETA_IMAGE
    ERRAWIN_IMAGE ERRBWIN_IMAGE THETAWIN_WORLD ERRX2WIN_IMAGE ERRY2WIN_IMAGE ERRXYWIN_IMAGE
    FLUX_RADIUS(7) ERRAWIN_WORLD ERRBWIN_WORLD ERRTHETAWIN_WORLD A_IMAGE ERRA_IMAGE B_IMAGE ERRB_IMAGE
    A_WORLD ERRA_WORLD B_WORLD ERRB_WORLD ERRTHETA_IMAGE ERRX2_IMAGE ERRY2_IMAGE ERRXY_IMAGE AWIN_IMAGE
    BWIN_IMAGE FLUX_PETRO FLUXERR_PETRO
    """.split()
)


def sextractor_columns() -> tuple[str, ...]:
    """Column names of a RAPID SExtractor catalog, vector parameters expanded to NAME_1..NAME_n."""
    cols: list[str] = []
    for p in SEXTRACTOR_PARAMETERS:
        m = re.fullmatch(r"(\w+)\((\d+)\)", p)
        cols.extend(_expand(m.group(1), int(m.group(2))) if m else (p,))
    return tuple(cols)


SEXTRACTOR_REQUIRED = ("NUMBER", "FLAGS", "XWIN_IMAGE", "YWIN_IMAGE")
SEXTRACTOR_ORIGIN = 1
