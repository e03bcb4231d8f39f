"""The prose of ``croissant.json``: description, citation, Responsible-AI fields and provenance.

Numbers (counts, radii, magnitude limits) come from the dataset and its ``build_info.json``, so the text
stays true when the build configuration changes.
"""

from __future__ import annotations

import re

from rapid_croissant import __version__, formats
from rapid_croissant.dataset import schema

__all__ = ["KEYWORDS", "bibtex", "description", "provenance", "rai_fields"]

KEYWORDS = (
    "astronomy",
    "time-domain astronomy",
    "transients",
    "difference imaging",
    "image subtraction",
    "ZOGY",
    "SFFT",
    "real-bogus classification",
    "Nancy Grace Roman Space Telescope",
    "RAPID",
    "OpenUniverse",
    "simulated data",
)


def _setting(config: dict, key: str, unit: str = "") -> str:
    value = config.get(key)
    return f"{key} = {value}{unit}" if value is not None else f"{key} (not recorded in build_info.json)"


def description(summary: dict) -> str:
    """Dataset description with the counts of this build."""
    labels = summary["labels"]
    splits = ", ".join(f"{summary['splits'][s]} {s}" for s in schema.SPLITS)
    return (
        "Transient candidates from the difference images of the Roman Space Telescope's RAPID pipeline, "
        "detected on both its ZOGY and SFFT subtractions and merged by position, for training and comparing "
        f"real/bogus classifiers of the two algorithms. {summary['n_candidates']} candidates from "
        f"{summary['n_jobs']} jobs ({summary['n_failed']} failed, listed with their error) in filter(s) "
        f"{', '.join(summary['filters']) or 'none'}; labels: {labels.get(schema.LABEL_REAL, 0)} real, "
        f"{labels.get(schema.LABEL_BOGUS, 0)} bogus, {labels.get(schema.LABEL_UNKNOWN, 0)} unknown; splits "
        f"by sky field: {splits} candidates. Each job also has a 9-channel image tensor (science, reference, "
        "ZOGY and SFFT differences, significance and uncertainty maps, PSF), its PSF stamp, a NaN bit mask "
        "and copies of its catalogs, listed with sha256 in manifest tables. Missing feature values mean the "
        "algorithm did not detect the candidate."
    )


def bibtex(values: dict, year: int) -> str:
    """A @misc BibTeX entry for the dataset from the publisher values."""
    key = re.sub(r"[^A-Za-z0-9]+", "_", values["name"]).strip("_") or "dataset"
    return (
        f"@misc{{{key}_{year},\n  author = {{{values['creator_name']}}},\n  title = {{{values['name']}}},\n"
        f"  year = {{{year}}},\n  version = {{{values['version']}}},\n  url = {{{values['url']}}},\n"
        f"  note = {{Generated with rapid-croissant from RAPID difference-imaging outputs}}\n}}"
    )


def _annotation(config: dict) -> list[str]:
    return [
        "Labels are assigned automatically by positional cross-matching, not by people. A candidate is real "
        f"(1) when a truth source lies within the match radius ({_setting(config, 'match_radius', ' px')}) "
        "of its PSF-fit position and is brighter than the magnitude limit "
        f"({_setting(config, 'mag_limit', ' AB mag')}); bogus (0) when none does; unknown (-1) when the job "
        "has no truth files. Truth sources are RAPID's injected fakes (injection list) and OpenUniverse "
        "transients (Roman_TDS_index truth files); truth positions are converted from 1-based to 0-based "
        "pixels.",
        "ZOGY and SFFT detections are one candidate when they are mutual nearest neighbours within the "
        f"merge radius ({_setting(config, 'merge_radius', ' px')}); zogy_label and sfft_label give each "
        "algorithm's own label, label_flag marks uncertain matches.",
    ]


def rai_fields(summary: dict, values: dict) -> dict:
    """Keyword arguments of ``mlc.Metadata`` for the Responsible-AI (RAI 1.0) vocabulary."""
    config = summary["config"]
    low, high = (f"{m:g}" for m in formats.INJECTION_MAG_RANGE)
    return {
        "data_collection": (
            "No observation was collected for this dataset. The inputs are RAPID job folders: RAPID (the "
            "Roman transient pipeline) subtracted a reference from simulated Roman WFI science images of "
            "the OpenUniverse 2024 simulation with ZOGY and with SFFT, ran photutils DAOStarFinder and PSF "
            "photometry on each difference image, and injected fake point sources before subtraction. "
            "rapid-croissant reads the FITS planes, catalogs and truth files of each job and writes tables, "
            "tensors and this file."
        ),
        "data_collection_type": ["Simulation", "Secondary data analysis"],
        "data_collection_raw_data": (
            "RAPID job folders (jid<N>): science, reference, ZOGY and SFFT difference, S_corr and "
            "uncertainty FITS images, difference PSF, photutils and SExtractor catalogs, injection lists, "
            "OpenUniverse truth indexes."
        ),
        "data_collection_missing_data": (
            "An algorithm's feature columns are empty when it did not detect the candidate; labels are -1 "
            "for jobs without truth files; jobs whose products cannot be read are kept in jobs with status "
            "'failed' and the error text, without candidates or tensors; NaN pixels are set to 0 before "
            "scaling and flagged in masks/."
        ),
        "data_imputation_protocol": "None: missing values stay missing (NaN or null) in the tables.",
        "data_preprocessing_protocol": [
            "Each image channel is scaled by its own ZScale interval (astropy ZScaleInterval, on the finite "
            "pixels) and clipped to [0, 1]; tensors are float32, shape (H, W, 9), channels in "
            "image_channels order.",
            "The ZOGY difference PSF is kept as a native stamp in psfs/ and, for the seed's layout, resized "
            "bilinearly to the image shape as channel 'psf'.",
            "Pixel positions are 0-based; candidates outside the image are dropped and counted per job.",
            "Splits are assigned by job (never by candidate), about 70/15/15, balanced by filter.",
        ],
        "data_manipulation_protocol": (
            "No pixel values are changed apart from the scaling above; catalogs are copied byte for byte."
        ),
        "data_annotation_protocol": _annotation(config),
        "annotations_per_item": (
            "One automatic label per candidate, plus one per algorithm (zogy_label, sfft_label)."
        ),
        "annotator_demographics": ["Not applicable: no human annotators."],
        "machine_annotation_tools": [
            f"rapid-croissant {__version__} (positional cross-match of detections to truth)"
        ],
        "data_biases": [
            f"Injected fakes are drawn uniformly in AB magnitude between {low} and {high} and placed near "
            "detected sources, mostly galaxies, so the real class over-represents transients on bright "
            "hosts and under-represents hostless ones.",
            "The sky, the detector and the PSF are simulated (OpenUniverse 2024); subtraction artefacts of "
            "real Roman data may differ in kind and frequency.",
            "Bogus candidates are whatever is detected away from a listed truth source: artefacts, but also "
            "real variability that the truth files do not list.",
        ],
        "data_limitations": [
            "Simulated data: classifiers trained here must be re-validated on real Roman data.",
            "Labels come from positional matching: chance coincidences within the match radius are labelled "
            "real, and sources fainter than the magnitude limit are never real.",
            "Candidates of one job share images and artefacts; the number of independent jobs, not of "
            "candidates, limits statistical power. DAOStarFinder npix is a constant and carries no "
            "information.",
        ],
        "data_use_cases": [
            "Training and evaluating real/bogus classifiers on Roman difference images.",
            "Comparing the ZOGY and SFFT subtraction algorithms on the same candidates and truth.",
            "Not validated for: photometric calibration, or science on real data without re-training.",
        ],
        "data_social_impact": (
            "Low: astronomical simulations without people; it supports the design of transient searches for "
            "the Roman Space Telescope."
        ),
        "personal_sensitive_information": [
            "None: simulated astronomical images and catalogs contain no personal data."
        ],
        "data_release_maintenance_plan": values["maintenance"]
        or (
            f"Versioned releases (semantic versioning, this is {values['version']}) regenerated with "
            f"rapid-croissant from RAPID outputs; corrections and questions through {values['url']}."
        ),
    }


def provenance(values: dict, summary: dict) -> dict:
    """PROV-O properties: the inputs the dataset was derived from and the software run that made it."""
    built_with = summary["info"].get("rapid_croissant_version", __version__)
    activity = {
        "@type": "prov:Activity",
        "name": "rapid-croissant build",
        "description": (
            f"Dataset built by rapid-croissant {built_with}; croissant.json written by {__version__}"
        ),
        "prov:wasAssociatedWith": {
            "@type": "prov:SoftwareAgent",
            "name": "rapid-croissant",
            "softwareVersion": built_with,
        },
    }
    if created := summary["info"].get("created"):
        activity["prov:endedAtTime"] = created
    return {
        "prov:wasDerivedFrom": [
            {"@id": values["openuniverse_url"], "name": "OpenUniverse 2024 simulated Roman images and truth"},
            {
                "@id": values["rapid_url"],
                "name": "RAPID difference-imaging pipeline job outputs (ZOGY and SFFT)",
            },
        ],
        "prov:wasGeneratedBy": activity,
    }
