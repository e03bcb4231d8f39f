"""Reading RAPID job folders: discovery, FITS planes and headers, catalogs, truth files. Reading only."""

from rapid_croissant.io.catalogs import (
    peek_catalog,
    read_photutils_catalog,
    read_sextractor_catalog,
    write_sextractor_catalog,
)
from rapid_croissant.io.discovery import detect_era, discover_jobs
from rapid_croissant.io.fits import (
    HeaderFacts,
    check_plane_file,
    open_plane,
    read_header_facts,
    read_plane,
    read_plane_shape,
)
from rapid_croissant.io.job import JobProblem, RapidJob, check_job, open_job
from rapid_croissant.io.truth import find_truth_files, read_injections, read_ou_index

__all__ = [
    "HeaderFacts",
    "JobProblem",
    "RapidJob",
    "check_job",
    "check_plane_file",
    "detect_era",
    "discover_jobs",
    "find_truth_files",
    "open_job",
    "open_plane",
    "peek_catalog",
    "read_header_facts",
    "read_injections",
    "read_ou_index",
    "read_photutils_catalog",
    "read_plane",
    "read_plane_shape",
    "read_sextractor_catalog",
    "write_sextractor_catalog",
]
