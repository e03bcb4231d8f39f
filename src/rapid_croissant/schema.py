"""Single source of truth for names: job files (2025 and 2026 product eras), image channels, catalog
columns (photutils 2 and 3, SExtractor), truth-file patterns, photometric constants and the columns of
the dataset we write.

Format facts come from ``docs/rapid_formats.md`` (a copy of the project's format notes, established
from RAPID's own code); section numbers below refer to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------------
# Photometric constants (rapid_formats.md §2.3, §5.1, §6)
# --------------------------------------------------------------------------------------------------

#: Roman collecting area in cm^2 used by the OpenUniverse simulator: ZPTMAG = 2.5 log10(EXPTIME * area).
COLLECTING_AREA_CM2 = 37570.0

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

#: RAPID's filter id map (openuniv_tests.rst).
FILTER_ID = {"F184": 1, "H158": 2, "J129": 3, "K213": 4, "R062": 5, "Y106": 6, "Z087": 7}

#: Typical exposure times (s) of the Roman TDS (H158 302 s; F184/K213 901 s). Used by the simulator only.
EXPTIME_TYPICAL = {
    "R062": 161.0,
    "Z087": 101.0,
    "Y106": 302.0,
    "J129": 302.0,
    "H158": 302.0,
    "F184": 901.0,
    "K213": 901.0,
}

#: Saturation level in DN used by RAPID for OU data; NaN inputs become SATURATION_DN / EXPTIME (§2.2).
SATURATION_DN = 100000.0


def zptmag_from_exptime(exptime: float) -> float:
    """ZPTMAG as the OpenUniverse simulator writes it: 2.5 log10(EXPTIME * collecting area) (§2.3)."""
    import math

    return 2.5 * math.log10(exptime * COLLECTING_AREA_CM2)


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

#: Channels produced by each subtraction algorithm (a job whose SFFT failed has none of the SFFT ones).
ALGORITHMS = ("zogy", "sfft")
ALGORITHM_CHANNELS = {
    "zogy": ("zogy_diff", "zogy_scorr", "zogy_uncert", "psf"),
    "sfft": ("sfft_diff", "sfft_scorr", "sfft_uncert"),
}

#: Image channels a model of each algorithm sees in a cutout, in this order (the loader appends a validity
#: channel): each algorithm's own difference, S_corr and uncertainty, with the science, reference and PSF.
CUTOUT_CHANNELS: dict[str, tuple[str, ...]] = {
    "zogy": ("sci", "ref", "zogy_diff", "zogy_scorr", "psf", "zogy_uncert"),
    "sfft": ("sci", "ref", "sfft_diff", "sfft_scorr", "psf", "sfft_uncert"),
    "both": CHANNELS,
}

#: Catalog files the seed copies into ``catalogs/`` (both eras' names; copied when present).
SEED_CATALOG_FILES = (
    "diffimage_masked.txt",
    "diffimage_masked_sepsfcat.txt",
    "diffimage_masked_psfcat_finder.txt",
    "diffimage_masked_psfcat.txt",
    "sfftdiffimage_cconv_masked.txt",
    "sfftdiffimage_masked_sepsfcat.txt",
    "sfftdiffimage_masked_psfcat_finder.txt",
    "sfftdiffimage_masked_psfcat.txt",
    "zogy_diffimage_masked.txt",
    "zogy_diffimage_masked_sepsfcat.txt",
    "zogy_diffimage_masked_psfcat_finder.txt",
    "zogy_diffimage_masked_psfcat.txt",
)

# --------------------------------------------------------------------------------------------------
# Science-image header file and truth files (§1, §5)
# --------------------------------------------------------------------------------------------------

#: The reformatted science image whose primary header carries FILTER, ZPTMAG, EXPTIME, MJD-OBS, ...
SCIENCE_HEADER_PATTERN = re.compile(
    r"^Roman_TDS_simple_model_(?P<filter>[A-Za-z]\d+)_(?P<pointing>\d+)_(?P<sca>\d+)_lite(?:_inject)?_reformatted\.fits$"
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

FINDER_COLUMNS_2025 = (
    "id",
    "xcentroid",
    "ycentroid",
    "sharpness",
    "roundness1",
    "roundness2",
    "npix",
    "peak",
    "flux",
    "mag",
    "daofind_mag",
)
FINDER_COLUMNS_2026 = (
    "id",
    "x_centroid",
    "y_centroid",
    "sharpness",
    "roundness1",
    "roundness2",
    "n_pixels",
    "peak",
    "flux",
    "mag",
    "daofind_mag",
)
PSFCAT_COLUMNS_2025 = (
    "id",
    "group_id",
    "group_size",
    "local_bkg",
    "x_init",
    "y_init",
    "flux_init",
    "x_fit",
    "y_fit",
    "flux_fit",
    "x_err",
    "y_err",
    "flux_err",
    "npixfit",
    "qfit",
    "cfit",
    "flags",
    "ra",
    "dec",
)
PSFCAT_COLUMNS_2026 = (
    "id",
    "group_id",
    "group_size",
    "local_bkg",
    "x_init",
    "y_init",
    "flux_init",
    "x_fit",
    "y_fit",
    "flux_fit",
    "x_err",
    "y_err",
    "flux_err",
    "n_pixels_fit",
    "qfit",
    "cfit",
    "reduced_chi2",
    "flags",
    "ra",
    "dec",
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
#: Optional psfcat columns (absent in photutils 2 files).
PSFCAT_OPTIONAL = ("reduced_chi2", "ra", "dec", "npixfit", "x_err", "y_err")

# --------------------------------------------------------------------------------------------------
# SExtractor ASCII_HEAD catalogs (§4): 1-based *_IMAGE positions
# --------------------------------------------------------------------------------------------------


def _expand(name: str, n: int) -> tuple[str, ...]:
    return tuple(f"{name}_{i}" for i in range(1, n + 1))


#: The parameters of RAPID's ``cdf/rapidSexParamsDiffImage.inp`` in order; ``NAME(n)`` is a vector
#: parameter of n columns (our reader names them NAME_1..NAME_n).
SEXTRACTOR_PARAMETERS: tuple[str, ...] = (
    "NUMBER",
    "FLAGS",
    "XWIN_IMAGE",
    "YWIN_IMAGE",
    "X_WORLD",
    "Y_WORLD",
    "XPEAK_IMAGE",
    "YPEAK_IMAGE",
    "THETAWIN_IMAGE",
    "ERRTHETAWIN_IMAGE",
    "ALPHAWIN_J2000",
    "DELTAWIN_J2000",
    "THETAWIN_J2000",
    "X2WIN_IMAGE",
    "Y2WIN_IMAGE",
    "XYWIN_IMAGE",
    "AWIN_WORLD",
    "BWIN_WORLD",
    "MAG_ISO",
    "MAGERR_ISO",
    "MAG_AUTO",
    "MAGERR_AUTO",
    "MAG_ISOCOR",
    "MAGERR_ISOCOR",
    "MAG_APER(6)",
    "MAGERR_APER(6)",
    "MAG_PETRO",
    "MAGERR_PETRO",
    "MAG_BEST",
    "MAGERR_BEST",
    "MU_THRESHOLD",
    "MU_MAX",
    "BACKGROUND",
    "THRESHOLD",
    "ELONGATION",
    "ISOAREA_WORLD",
    "ISOAREAF_WORLD",
    "ISO0",
    "ISO1",
    "ISO2",
    "ISO3",
    "ISO4",
    "ISO5",
    "ISO6",
    "ISO7",
    "FWHM_IMAGE",
    "KRON_RADIUS",
    "PETRO_RADIUS",
    "CLASS_STAR",
    "FLUX_BEST",
    "FLUXERR_BEST",
    "FLUX_AUTO",
    "FLUXERR_AUTO",
    "FLUX_ISO",
    "FLUXERR_ISO",
    "FLUX_APER(6)",
    "FLUXERR_APER(6)",
    "X_IMAGE",
    "Y_IMAGE",
    "X2_IMAGE",
    "Y2_IMAGE",
    "XY_IMAGE",
    "THETA_IMAGE",
    "ERRAWIN_IMAGE",
    "ERRBWIN_IMAGE",
    "THETAWIN_WORLD",
    "ERRX2WIN_IMAGE",
    "ERRY2WIN_IMAGE",
    "ERRXYWIN_IMAGE",
    "FLUX_RADIUS(7)",
    "ERRAWIN_WORLD",
    "ERRBWIN_WORLD",
    "ERRTHETAWIN_WORLD",
    "A_IMAGE",
    "ERRA_IMAGE",
    "B_IMAGE",
    "ERRB_IMAGE",
    "A_WORLD",
    "ERRA_WORLD",
    "B_WORLD",
    "ERRB_WORLD",
    "ERRTHETA_IMAGE",
    "ERRX2_IMAGE",
    "ERRY2_IMAGE",
    "ERRXY_IMAGE",
    "AWIN_IMAGE",
    "BWIN_IMAGE",
    "FLUX_PETRO",
    "FLUXERR_PETRO",
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

# --------------------------------------------------------------------------------------------------
# Output dataset layout and columns
# --------------------------------------------------------------------------------------------------

IMAGES_DIR = "images"
PSFS_DIR = "psfs"
MASKS_DIR = "masks"
CATALOGS_DIR = "catalogs"
CANDIDATES_CSV = "candidates.csv"
CANDIDATES_PARQUET = "candidates.parquet"
TRUTH_CSV = "combined_truth_table.csv"
TRUTH_PARQUET = "truth.parquet"
JOBS_CSV = "jobs.csv"
JOBS_PARQUET = "jobs.parquet"
CROISSANT_JSON = "croissant.json"
SPLITS = ("train", "val", "test")

#: Label values: 1 real (matched truth), 0 bogus, -1 unknown (the job has no truth files).
LABEL_REAL, LABEL_BOGUS, LABEL_UNKNOWN = 1, 0, -1

#: Per-algorithm photutils features, in the seed's order (``zogy_`` / ``sfft_`` prefixed in the output).
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
#: PSF-fit quality added by us (``*_reduced_chi2`` only when the catalog has it).
FIT_FEATURES = ("flux_fit", "flux_err", "snr", "qfit", "cfit", "reduced_chi2")

#: The seed's core columns, in its order.
SEED_CORE_COLUMNS = (
    "id",
    "x",
    "y",
    "jid",
    "match_id",
    "truth_id",
    "injected",
    "filter",
    "label",
    "image_filename",
)


def candidate_columns() -> tuple[str, ...]:
    """All columns of ``candidates.csv``: the seed's, in its order, then ours."""
    seed = list(SEED_CORE_COLUMNS)
    for alg in ALGORITHMS:
        seed += [f"{alg}_{f}" for f in SEED_FEATURES]
    ours = ["candidate_id", "zogy_id", "sfft_id", "detected_by", "zogy_x", "zogy_y", "sfft_x", "sfft_y"]
    ours += [
        "zogy_label",
        "sfft_label",
        "zogy_truth_id",
        "sfft_truth_id",
        "match_dist",
        "truth_mag",
        "truth_snr",
        "label_flag",
    ]
    for alg in ALGORITHMS:
        ours += [f"{alg}_{f}" for f in FIT_FEATURES]
    ours += ["ra", "dec", "mjd", "zpt", "has_truth"]
    ours += [f"{alg}_opposite_dist" for alg in ALGORITHMS] + ["sign", "split"]
    return tuple(seed + ours)


# --------------------------------------------------------------------------------------------------
# Column types, units and descriptions of the tables we write (used by the writers, Croissant, loaders)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One output column: pandas dtype, Croissant data type, unit and description."""

    dtype: str  # pandas extension dtype: 'string', 'Int64', 'float64', 'boolean'
    croissant: str  # 'sc:Text', 'sc:Integer', 'sc:Float', 'sc:Boolean'
    unit: str | None
    description: str


def _text(d):
    return Column("string", "sc:Text", None, d)


def _int(d, unit=None):
    return Column("Int64", "sc:Integer", unit, d)


def _float(d, unit=None):
    return Column("float64", "sc:Float", unit, d)


def _bool(d):
    return Column("boolean", "sc:Boolean", None, d)


_FEATURE_DOCS = {
    "sharpness": _float("DAOStarFinder sharpness of the detection"),
    "roundness1": _float("DAOStarFinder symmetry-based roundness"),
    "roundness2": _float("DAOStarFinder marginal-fit roundness"),
    "npix": _int(
        "DAOStarFinder kernel size in pixels (a constant, 25 for fwhm=2: carries no information)", "pixel"
    ),
    "peak": _float("Peak pixel value of the detection in the difference image", "DN/s"),
    "flux": _float("DAOStarFinder flux: sum of the data in the kernel footprint", "DN/s"),
    "mag": _float("DAOStarFinder instrumental magnitude -2.5 log10(flux), no zero point", "mag"),
    "daofind_mag": _float("DAOFind magnitude -2.5 log10(convolved peak / threshold)", "mag"),
    "flags": _int(
        "photutils PSF-fit bit flags, joined by id (1 partial fit box, 2 outside image, 4 flux<=0, 8 unconverged, ...)"
    ),
    "flux_fit": _float("PSF-fit flux", "DN/s"),
    "flux_err": _float("1-sigma error of the PSF-fit flux", "DN/s"),
    "snr": _float("flux_fit / flux_err"),
    "qfit": _float("PSF-fit quality: sum of |residual| / flux_fit"),
    "cfit": _float("Central-pixel residual / flux_fit"),
    "reduced_chi2": _float("Reduced chi-square of the PSF fit (photutils >= 3 catalogs only)"),
}

CANDIDATE_SCHEMA: dict[str, Column] = {
    "id": _int(
        "Catalog id of the candidate's primary detection (ZOGY's when ZOGY detected it, else SFFT's); "
        "ids are per catalog, use candidate_id as the key"
    ),
    "x": _float("0-based PSF-fit x: ZOGY's when ZOGY detected it, otherwise SFFT's", "pixel"),
    "y": _float("0-based PSF-fit y: ZOGY's when ZOGY detected it, otherwise SFFT's", "pixel"),
    "jid": _text("RAPID job id (folder name jid<N>)"),
    "match_id": _text("truth_id of the matched truth source, '-1' when none"),
    "truth_id": _text(
        "truth_id in combined_truth_table.csv / truth.parquet of the matched truth source (empty if none)"
    ),
    "injected": _bool(
        "True when the matched truth source is an injected fake (False: OpenUniverse transient or no match)"
    ),
    "filter": _text("Roman WFI filter of the science image"),
    "label": _int("1 real (matched a truth source), 0 bogus, -1 unknown (job without truth files)"),
    "image_filename": _text("Relative path of the job's 9-channel image tensor (.npy)"),
    **{f"{a}_{f}": _FEATURE_DOCS[f] for a in ALGORITHMS for f in SEED_FEATURES},
    "candidate_id": _text("Unique candidate key <jid>_<n>"),
    "zogy_id": _int("Row id in the ZOGY photutils catalogs (empty when ZOGY did not detect it)"),
    "sfft_id": _int("Row id in the SFFT photutils catalogs (empty when SFFT did not detect it)"),
    "detected_by": _text("zogy, sfft or both (merged by position, mutual nearest within the merge radius)"),
    "zogy_x": _float("0-based ZOGY PSF-fit x", "pixel"),
    "zogy_y": _float("0-based ZOGY PSF-fit y", "pixel"),
    "sfft_x": _float("0-based SFFT PSF-fit x", "pixel"),
    "sfft_y": _float("0-based SFFT PSF-fit y", "pixel"),
    "zogy_label": _int("Label of the ZOGY detection on its own (1, 0, -1; empty when not detected by ZOGY)"),
    "sfft_label": _int("Label of the SFFT detection on its own (1, 0, -1; empty when not detected by SFFT)"),
    "zogy_truth_id": _text("truth_id matched by the ZOGY detection on its own (empty if none)"),
    "sfft_truth_id": _text("truth_id matched by the SFFT detection on its own (empty if none)"),
    "match_dist": _float("Distance to the matched truth source", "pixel"),
    "truth_mag": _float("AB magnitude of the matched truth source", "mag"),
    "truth_snr": _float("Expected S/N of the matched truth source in the difference image"),
    "label_flag": _text(
        "Why a label is uncertain (e.g. low_snr_match, near_faint_truth); empty when confident"
    ),
    **{f"{a}_{f}": _FEATURE_DOCS[f] for a in ALGORITHMS for f in FIT_FEATURES},
    "ra": _float("Right ascension of the PSF-fit position (ICRS)", "deg"),
    "dec": _float("Declination of the PSF-fit position (ICRS)", "deg"),
    "mjd": _float("MJD of the science exposure", "d"),
    "zpt": _float(
        "ZPTMAG of the science image (2.5 log10(EXPTIME * 37570 cm^2); AB = -2.5log10(counts)+zpt+ZP_band)",
        "mag",
    ),
    "has_truth": _bool("True when the job has truth files (labels known)"),
    **{
        f"{a}_opposite_dist": _float(
            f"Distance from the {a.upper()} detection to the nearest {a.upper()} detection of the "
            "opposite sign (RAPID's *_negative catalogs; dipole evidence); empty without such a catalog "
            "or detection",
            "pixel",
        )
        for a in ALGORITHMS
    },
    "sign": _int(
        "+1 a brightening candidate (positive difference), -1 a fading one (build --include-fading)"
    ),
    "split": _text("train, val or test (by sky field: the split of the job's field)"),
}
assert tuple(CANDIDATE_SCHEMA) == candidate_columns()

TRUTH_SCHEMA: dict[str, Column] = {
    "truth_id": _text(
        "<row>_inj for injections (row of the injection list), <object_id>_ou for OpenUniverse transients"
    ),
    "jid": _text("RAPID job id"),
    "x": _float("0-based x on the science grid (truth files are 1-based; origin converted)", "pixel"),
    "y": _float("0-based y on the science grid", "pixel"),
    "ra": _float("Right ascension (OpenUniverse rows; from the WCS for injections when available)", "deg"),
    "dec": _float("Declination", "deg"),
    "mag": _float(
        "AB magnitude (injections: -2.5 log10(flux) + ZPTMAG + ZP_band; OpenUniverse: mag + ZPTMAG)", "mag"
    ),
    "flux": _float("Counts in the exposure (e-, gain 1)", "count"),
    "filter": _text("Roman WFI filter"),
    "zpt": _float("ZPTMAG of the science image", "mag"),
    "injected": _bool("True for injected fakes, False for OpenUniverse transients"),
    "bright": _bool(
        "True when brighter than the build's magnitude limit (only these can make a detection real)"
    ),
    "source_file": _text("Truth file the row came from"),
    "snr_zogy": _float(
        "Expected S/N in the ZOGY difference: rate / (local uncertainty * sqrt(PSF noise-equivalent area))"
    ),
    "snr_sfft": _float("Expected S/N in the SFFT difference (same definition, SFFT uncertainty and PSF)"),
}

JOB_SCHEMA: dict[str, Column] = {
    "jid": _text("RAPID job id"),
    "era": _text("Product era of the job folder (2025 or 2026 file names)"),
    "filter": _text("Roman WFI filter"),
    "zpt": _float("ZPTMAG", "mag"),
    "exptime": _float("Exposure time", "s"),
    "mjd": _float("MJD of the science exposure", "d"),
    "sca": _int("Sensor chip assembly number"),
    "height": _int("Image height", "pixel"),
    "width": _int("Image width", "pixel"),
    "status": _text("ok, partial (one algorithm's products missing) or failed"),
    "has_zogy": _bool("ZOGY products present"),
    "has_sfft": _bool("SFFT products present"),
    "has_truth": _bool("Truth files present"),
    "n_candidates": _int("Candidates of the job"),
    "n_zogy": _int("ZOGY detections kept"),
    "n_sfft": _int("SFFT detections kept"),
    "n_both": _int("Candidates detected by both"),
    "n_real": _int("Candidates labelled 1"),
    "n_bogus": _int("Candidates labelled 0"),
    "n_unknown": _int("Candidates labelled -1"),
    "n_truth": _int("Truth sources of the job"),
    "n_out_of_bounds": _int("Detections dropped because their position lies outside the image"),
    "image_filename": _text(
        "Relative path of the 9-channel tensor (empty with --no-full-images or on failure)"
    ),
    "error": _text("Error message of a failed job (job, file, reason)"),
    "notes": _text("Warnings met while building the job (missing products, empty catalogs, no truth, ...)"),
    "footprint": _text("Sky corners of the image from its WCS: 'ra,dec;ra,dec;ra,dec;ra,dec' (degrees)"),
    "field": _text(
        "Sky field: jobs whose footprints overlap share it (named after its first job, sky_<jid>); "
        "all jobs of a field are in one split"
    ),
    "split": _text("train, val or test: by sky field, recorded in split_assignment.json, stable on rebuild"),
}
