"""The dataset's output schema: columns, pandas dtypes, Croissant types, units and descriptions of the
candidates, truth and jobs tables, the label values and flags, the loader's channel sets, and the casting
of a table to its schema.

RAPID's input formats are in ``rapid_croissant.formats``; the values the science assigns (labels, flags,
splits) in ``rapid_croissant.vocabulary``; both are re-exported here for readers of a dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapid_croissant.formats import (
    CHANNEL_DESCRIPTIONS,
    CHANNELS,
    FIT_FEATURES,
    SEED_FEATURES,
    SUBTRACTIONS,
)
from rapid_croissant.vocabulary import LABEL_BOGUS, LABEL_FLAGS, LABEL_REAL, LABEL_UNKNOWN, SPLITS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CANDIDATE_COLUMNS",
    "CANDIDATE_SCHEMA",
    "CANDIDATE_SETS",
    "CHANNELS",
    "CHANNEL_DESCRIPTIONS",
    "CUTOUT_CHANNELS",
    "FIT_FEATURES",
    "JOB_SCHEMA",
    "LABEL_BOGUS",
    "LABEL_FLAGS",
    "LABEL_REAL",
    "LABEL_UNKNOWN",
    "SEED_CORE_COLUMNS",
    "SEED_FEATURES",
    "SPLITS",
    "SUBTRACTIONS",
    "TRUTH_SCHEMA",
    "Column",
    "cast_table",
    "empty_table",
    "iso_utc",
]

#: The candidate sets a model can see: one subtraction's detections, or all candidates ("both").
CANDIDATE_SETS = (*SUBTRACTIONS, "both")

#: Image channels a model of each candidate set sees in a cutout, in this order (the loader appends a
#: validity channel): each algorithm's own difference, S_corr and uncertainty, with the science,
#: reference and PSF.
CUTOUT_CHANNELS: dict[str, tuple[str, ...]] = {
    "zogy": ("sci", "ref", "zogy_diff", "zogy_scorr", "psf", "zogy_uncert"),
    "sfft": ("sci", "ref", "sfft_diff", "sfft_scorr", "psf", "sfft_uncert"),
    "both": CHANNELS,
}

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
        "photutils PSF-fit bit flags, joined by id "
        "(1 partial fit box, 2 outside image, 4 flux<=0, 8 unconverged, ...)"
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
    **{f"{a}_{f}": _FEATURE_DOCS[f] for a in SUBTRACTIONS for f in SEED_FEATURES},
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
    **{f"{a}_{f}": _FEATURE_DOCS[f] for a in SUBTRACTIONS for f in FIT_FEATURES},
    "ra": _float("Right ascension of the PSF-fit position (ICRS)", "deg"),
    "dec": _float("Declination of the PSF-fit position (ICRS)", "deg"),
    "mjd": _float("MJD of the science exposure", "d"),
    "date_obs": _text(
        "Start of the science exposure, ISO 8601 UTC to the millisecond (YYYY-MM-DDThh:mm:ss.sss), "
        "from mjd with astropy Time (scale utc); the exact epoch in text, for readers that narrow mjd to "
        "float32 (TFDS); empty when mjd is"
    ),
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
        for a in SUBTRACTIONS
    },
    "sign": _int(
        "+1 a brightening candidate (positive difference), -1 a fading one (build --include-fading)"
    ),
    "split": _text("train, val or test (by sky field: the split of the job's field)"),
}

#: All columns of ``candidates.csv``: the seed's, in its order, then ours (the order of CANDIDATE_SCHEMA).
CANDIDATE_COLUMNS: tuple[str, ...] = tuple(CANDIDATE_SCHEMA)

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


def empty_table(table_schema: dict[str, Column]) -> pd.DataFrame:
    """A table with no rows and the columns of ``table_schema``, typed."""
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype=col.dtype) for c, col in table_schema.items()})


def iso_utc(mjd) -> list[str | None]:
    """MJD values (UTC) as ISO 8601 text to the millisecond, rounded, with astropy Time; None where a value
    is missing or not finite."""
    import warnings

    import numpy as np
    import pandas as pd
    from astropy.time import Time
    from erfa import ErfaWarning

    values = pd.to_numeric(pd.Series(mjd, dtype=object), errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(values)
    out: list[str | None] = [None] * len(values)
    if ok.any():
        with warnings.catch_warnings():  # "dubious year": a date past the leap-second table astropy knows
            warnings.simplefilter("ignore", ErfaWarning)
            text = Time(values[ok], format="mjd", scale="utc", precision=3).isot
        for i, t in zip(np.flatnonzero(ok), text, strict=True):
            out[i] = str(t)
    return out


def _with_date_obs(df: pd.DataFrame) -> pd.DataFrame:
    """``date_obs`` from ``mjd`` (:func:`iso_utc`) where it is missing and mjd is not (e.g. parts written
    before the column existed)."""
    import numpy as np
    import pandas as pd

    have = df["date_obs"] if "date_obs" in df.columns else pd.Series(None, index=df.index, dtype=object)
    todo = have.isna().to_numpy() & pd.to_numeric(df["mjd"], errors="coerce").notna().to_numpy()
    if not todo.any():
        return df
    filled = have.to_numpy(dtype=object).copy()
    filled[todo] = iso_utc(df["mjd"].to_numpy(dtype=object)[todo])
    return df.assign(date_obs=np.where(pd.isna(filled), None, filled))


def cast_table(df: pd.DataFrame, table_schema: dict[str, Column]) -> pd.DataFrame:
    """Columns of ``table_schema`` in its order, each cast to its pandas dtype (missing columns become NA;
    a missing ``date_obs`` is derived from ``mjd``)."""
    import pandas as pd

    if "date_obs" in table_schema and "mjd" in df.columns:
        df = _with_date_obs(df)
    out = {}
    for name, col in table_schema.items():
        values = df[name] if name in df.columns else pd.Series([pd.NA] * len(df), index=df.index)
        if col.dtype == "Int64":
            out[name] = pd.array(pd.to_numeric(values, errors="coerce"), dtype="Float64").astype("Int64")
        elif col.dtype == "float64":
            out[name] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif col.dtype == "boolean":
            out[name] = pd.array(values, dtype="boolean")
        else:
            out[name] = pd.array(values.astype(object).where(values.notna(), None), dtype="string")
    return pd.DataFrame(out, index=df.index).reset_index(drop=True)
