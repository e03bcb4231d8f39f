"""Every file and folder name of a built dataset, spelled here and nowhere else.

``Layout(root)`` gives absolute paths (``layout.candidates_split("train")``, ``layout.image(jid)``); the
module constants give the names relative to the dataset folder, for the Croissant file and the manifests
(which record relative paths). Writers write through a ``Layout``; readers open through
:func:`rapid_croissant.dataset.open_dataset`.

The layout::

    <root>/
      images/<jid>.npy  masks/<jid>.npy  psfs/<jid>.npy      per-job tensors
      catalogs/<jid>_<original name>                          copies of the RAPID catalogs
      candidates.csv  candidates.parquet  candidates-<split>.parquet
      combined_truth_table.csv  truth.parquet  jobs.csv  jobs.parquet
      physical.parquet                                        per job: ZScale limits per channel, WCS header
      images-manifest.parquet  catalogs-manifest.parquet  croissant.json
      build_info.json  split_assignment.json  DATASET_CARD.md  report.html
      README.md (Hugging Face card with YAML configs)
      cutouts/  cutouts-<split>.npy  valid-<split>.npy  index-<split>.parquet  store.json
                cutouts-<split>.parquet   (candidate_id, jid, cutout 9x64x64 float32, valid 3x64x64 uint8)
                sfft-cutouts-<split>.npy ... sfft-store.json  (--profile cutouts: centred on sfft_x, sfft_y)
      scores/<run>.parquet  comparison/                        rapid-croissant score and compare
      export/   candidates-<split>.ecsv  candidates-<split>.vot   (rapid-croissant export)
      frames/<jid>.json                                        (--profile cutouts: limits and WCS per job)
      .parts/   <jid>.candidates.parquet  <jid>.truth.parquet  <jid>.physical.json  <jid>.job.json
                <jid>.[sfft-]cutouts.npy  <jid>.[sfft-]valid.npy  <jid>.[sfft-]cutouts-index.parquet
                (build in progress)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rapid_croissant.vocabulary import SPLITS

__all__ = [
    "SPLITS",
    "Layout",
]


IMAGES_DIR = "images"
MASKS_DIR = "masks"
PSFS_DIR = "psfs"
CATALOGS_DIR = "catalogs"
CUTOUTS_DIR = "cutouts"
FRAMES_DIR = "frames"
PARTS_DIR = ".parts"
SCORES_DIR = "scores"
COMPARISON_DIR = "comparison"
EXPORT_DIR = "export"

CANDIDATES_CSV = "candidates.csv"
CANDIDATES_PARQUET = "candidates.parquet"
CANDIDATES_PREFIX = "candidates-"
TRUTH_CSV = "combined_truth_table.csv"
TRUTH_PARQUET = "truth.parquet"
JOBS_CSV = "jobs.csv"
JOBS_PARQUET = "jobs.parquet"
CROISSANT_JSON = "croissant.json"
IMAGES_MANIFEST = "images-manifest.parquet"
CATALOGS_MANIFEST = "catalogs-manifest.parquet"
BUILD_INFO = "build_info.json"
PHYSICAL_PARQUET = "physical.parquet"
HF_README = "README.md"
#: Every job's sky field and split, read back on rebuild so that no job ever changes split.
SPLIT_RECORD = "split_assignment.json"
DATASET_CARD = "DATASET_CARD.md"
REPORT_HTML = "report.html"

#: File-name patterns inside ``cutouts/`` (``{split}`` is filled in; ``*`` matches every split).
CUTOUTS_FILE = "cutouts-{split}.npy"
CUTOUT_VALID_FILE = "valid-{split}.npy"
CUTOUT_INDEX_FILE = "index-{split}.parquet"
CUTOUT_META_FILE = "store.json"
#: Prefixes of the cutout store's file sets: "" centred on (x, y); "sfft-" (``--profile cutouts``) on
#: (sfft_x, sfft_y) for the candidates whose SFFT position rounds to another pixel.
SFFT_CUTOUT_PREFIX = "sfft-"
CUTOUT_PREFIXES = ("", SFFT_CUTOUT_PREFIX)
#: The Croissant-described cutouts (one Parquet file per split, rows keyed by candidate_id).
CUTOUT_PARQUET_FILE = "cutouts-{split}.parquet"


def candidates_split_name(split: str) -> str:
    """``candidates-<split>.parquet``, relative to the dataset folder."""
    return f"{CANDIDATES_PREFIX}{split}.parquet"


def tensor_name(folder: str, jid: str) -> str:
    """``<folder>/<jid>.npy``, relative to the dataset folder (``image_filename`` in the tables)."""
    return f"{folder}/{jid}.npy"


def image_name(jid: str) -> str:
    """``images/<jid>.npy``: the value of the ``image_filename`` column."""
    return tensor_name(IMAGES_DIR, jid)


def catalog_name(jid: str, original: str) -> str:
    """``<jid>_<original name>``: the file name of a catalog copy inside ``catalogs/``."""
    return f"{jid}_{original}"


@dataclass(frozen=True)
class Layout:
    """Absolute paths of every file and folder of the dataset at ``root``."""

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    # folders ------------------------------------------------------------------------------------------
    @property
    def images_dir(self) -> Path:
        return self.root / IMAGES_DIR

    @property
    def masks_dir(self) -> Path:
        return self.root / MASKS_DIR

    @property
    def psfs_dir(self) -> Path:
        return self.root / PSFS_DIR

    @property
    def catalogs_dir(self) -> Path:
        return self.root / CATALOGS_DIR

    @property
    def cutouts_dir(self) -> Path:
        return self.root / CUTOUTS_DIR

    @property
    def parts_dir(self) -> Path:
        return self.root / PARTS_DIR

    @property
    def export_dir(self) -> Path:
        return self.root / EXPORT_DIR

    def export(self, stem: str, suffix: str) -> Path:
        """``export/<stem>.<suffix>``: a table exported for astropy users (ECSV, VOTable)."""
        return self.export_dir / f"{stem}.{suffix}"

    # per-job tensors and catalog copies -------------------------------------------------------------------
    def image(self, jid: str) -> Path:
        """The job's (H, W, 9) float32 tensor."""
        return self.root / image_name(jid)

    def mask(self, jid: str) -> Path:
        """The job's (H, W) uint16 NaN bit mask."""
        return self.root / tensor_name(MASKS_DIR, jid)

    def psf(self, jid: str) -> Path:
        """The job's native ZOGY difference PSF stamp."""
        return self.root / tensor_name(PSFS_DIR, jid)

    def catalog(self, jid: str, original: str) -> Path:
        """The copy of the job's RAPID catalog ``original``."""
        return self.catalogs_dir / catalog_name(jid, original)

    # tables -------------------------------------------------------------------------------------------
    @property
    def candidates_csv(self) -> Path:
        return self.root / CANDIDATES_CSV

    @property
    def candidates_parquet(self) -> Path:
        return self.root / CANDIDATES_PARQUET

    def candidates_split(self, split: str) -> Path:
        """``candidates-<split>.parquet``: the candidates of one split."""
        return self.root / candidates_split_name(split)

    @property
    def truth_csv(self) -> Path:
        return self.root / TRUTH_CSV

    @property
    def truth_parquet(self) -> Path:
        return self.root / TRUTH_PARQUET

    @property
    def jobs_csv(self) -> Path:
        return self.root / JOBS_CSV

    @property
    def jobs_parquet(self) -> Path:
        return self.root / JOBS_PARQUET

    # metadata ------------------------------------------------------------------------------------------
    @property
    def croissant_json(self) -> Path:
        return self.root / CROISSANT_JSON

    @property
    def images_manifest(self) -> Path:
        return self.root / IMAGES_MANIFEST

    @property
    def catalogs_manifest(self) -> Path:
        return self.root / CATALOGS_MANIFEST

    @property
    def build_info(self) -> Path:
        return self.root / BUILD_INFO

    @property
    def physical(self) -> Path:
        """``physical.parquet``: per job, the ZScale limits of every channel and the WCS header."""
        return self.root / PHYSICAL_PARQUET

    @property
    def hf_readme(self) -> Path:
        """``README.md``: the Hugging Face dataset card (YAML configs, ClassLabel, license)."""
        return self.root / HF_README

    @property
    def split_record(self) -> Path:
        """``split_assignment.json``: seed, fractions and every job's field and split."""
        return self.root / SPLIT_RECORD

    @property
    def dataset_card(self) -> Path:
        return self.root / DATASET_CARD

    @property
    def report_html(self) -> Path:
        return self.root / REPORT_HTML

    # the cutout store ------------------------------------------------------------------------------------
    def cutouts(self, split: str, prefix: str = "") -> Path:
        """``cutouts/cutouts-<split>.npy``: (N, 9, size, size), rows in candidates-<split> order."""
        return self.cutouts_dir / (prefix + CUTOUTS_FILE.format(split=split))

    def cutout_valid(self, split: str, prefix: str = "") -> Path:
        """``cutouts/valid-<split>.npy``: packed validity bits."""
        return self.cutouts_dir / (prefix + CUTOUT_VALID_FILE.format(split=split))

    def cutout_index(self, split: str, prefix: str = "") -> Path:
        """``cutouts/index-<split>.parquet``: candidate_id, jid, row."""
        return self.cutouts_dir / (prefix + CUTOUT_INDEX_FILE.format(split=split))

    def cutout_parquet(self, split: str) -> Path:
        """``cutouts/cutouts-<split>.parquet``: the Croissant-described cutouts of one split."""
        return self.cutouts_dir / CUTOUT_PARQUET_FILE.format(split=split)

    @property
    def cutout_meta(self) -> Path:
        """``cutouts/store.json``: dtype, scale, channels, size, counts."""
        return self.cutouts_dir / CUTOUT_META_FILE

    @property
    def comparison_dir(self) -> Path:
        """``comparison/``: where the demo and the report keep ``rapid-croissant compare``'s output."""
        return self.root / COMPARISON_DIR

    # scores of a trained model (rapid-croissant score) ----------------------------------------------------
    def scores(self, run_name: str) -> Path:
        """``scores/<run folder name>.parquet``: every candidate's score and predicted label from one run."""
        return self.root / SCORES_DIR / f"{run_name}.parquet"

    def cutout_meta_of(self, prefix: str) -> Path:
        """``cutouts/<prefix>store.json`` (``prefix`` one of CUTOUT_PREFIXES)."""
        return self.cutouts_dir / (prefix + CUTOUT_META_FILE)

    def frame(self, jid: str) -> Path:
        """``frames/<jid>.json`` (``--profile cutouts``): shape, ZScale limits per channel, WCS header."""
        return self.root / FRAMES_DIR / f"{jid}.json"

    # build in progress ---------------------------------------------------------------------------------
    def part_candidates(self, jid: str) -> Path:
        return self.parts_dir / f"{jid}.candidates.parquet"

    def part_truth(self, jid: str) -> Path:
        return self.parts_dir / f"{jid}.truth.parquet"

    def part_candidates_csv(self, jid: str) -> Path:
        """The job's rows of candidates.csv, formatted by its own task (an empty split field)."""
        return self.parts_dir / f"{jid}.candidates.csv"

    def part_cutouts(self, jid: str, prefix: str = "") -> dict[str, Path]:
        """A cutouts-profile job's cutouts, validity and candidate ids, until the store is assembled."""
        return {
            "cutouts": self.parts_dir / f"{jid}.{prefix}cutouts.npy",
            "valid": self.parts_dir / f"{jid}.{prefix}valid.npy",
            "index": self.parts_dir / f"{jid}.{prefix}cutouts-index.parquet",
        }

    def part_physical(self, jid: str) -> Path:
        """The job's ZScale limits and WCS header (JSON), gathered into physical.parquet."""
        return self.parts_dir / f"{jid}.physical.json"

    def part_job(self, jid: str) -> Path:
        """The job's done marker (its jobs row as JSON, with the input fingerprint)."""
        return self.parts_dir / f"{jid}.job.json"

    # helpers -------------------------------------------------------------------------------------------
    def relative(self, path: str | Path) -> str:
        """``path`` relative to the dataset folder, with forward slashes."""
        return Path(path).relative_to(self.root).as_posix()
