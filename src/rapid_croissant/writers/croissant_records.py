"""The distribution (files) and record sets of ``croissant.json``, built with mlcroissant's API.

Column types, units and descriptions all come from ``dataset/schema.py``. Two mlcroissant 1.1.1 bugs decide
where ``references`` may appear (both checked by tests/test_croissant.py):

* split filtering (``filters={"transient_candidates/split": "val"}``) fails when the record set has any
  other ``references`` field, so ``transient_candidates`` references only ``splits``; its links to
  ``jobs`` and ``label_classes`` are stated in the field descriptions and checked by our validator;
* a record set that joins a file-based record set read earlier from the same ``mlc.Dataset`` fails
  (join-order bug), so ``truth``, ``images`` and ``catalogs``, which follow ``jobs``, do not reference
  it. Joins to the inline ``splits`` table are safe.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import mlcroissant as mlc
from rdflib import URIRef

from rapid_croissant.dataset import layout as names
from rapid_croissant.dataset import roles, schema
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.dataset.manifests import TENSOR_KINDS, sha256_file
from rapid_croissant.errors import RapidCroissantError
from rapid_croissant.writers.croissant_eco import EcoRecords

__all__ = ["CANDIDATE_FILES", "RECORD_SETS", "RecordSetBuilder", "SPLIT_REGEX"]

PARQUET, CSV, JSON, TEXT = "application/x-parquet", "text/csv", "application/json", "text/plain"
LABEL = URIRef("http://mlcommons.org/croissant/Label")
_TYPES = {
    "sc:Text": mlc.DataType.TEXT,
    "sc:Integer": mlc.DataType.INTEGER,
    "sc:Float": mlc.DataType.FLOAT,
    "sc:Boolean": mlc.DataType.BOOL,
}
CANDIDATE_FILES = "candidate-split-files"
#: The FileObject containing every FileSet: the dataset folder, published as a git repository.
DATASET_FOLDER = "dataset-folder"
GIT = "git+https"
#: What Hugging Face writes as the checksum of a git repository FileObject (a repository has no single hash;
#: mlcroissant requires the property and skips the check for a folder).
GIT_CHECKSUM = "https://github.com/mlcommons/croissant/issues/80"
#: The split of a candidate comes from the name of its per-split file (mlcroissant can filter only on such a
#: field). mlcroissant applies the regex twice (in the join with ``splits`` and again when reading fields), so
#: it must also accept its own output: both the prefix and the suffix are optional.
SPLIT_REGEX = "^(?:{prefix}" + names.CANDIDATES_PREFIX + r")?(train|val|test)(?:\.parquet)?$"
#: Columns that name a row of another record set, declared in the description instead of ``references``.
LINKS = {"jid": "jobs/jid", "label": "label_classes/label"}
#: jobs/split names a split in its description only: TFDS filters on any field that references the splits
#: record set, and mlcroissant can filter only on a file-name regex (NotImplementedError on a column).
JOB_LINKS = {"split": "splits/name"}
SPLIT_URLS = {"train": "cr:TrainingSplit", "val": "cr:ValidationSplit", "test": "cr:TestSplit"}
LABEL_CLASSES = (
    (schema.LABEL_UNKNOWN, "unknown", "The job has no truth files: real or bogus is not known"),
    (
        schema.LABEL_BOGUS,
        "bogus",
        "No truth source (injection or OpenUniverse transient) within the match radius",
    ),
    (
        schema.LABEL_REAL,
        "real",
        "A truth source brighter than the magnitude limit lies within the match radius",
    ),
)
#: Record-set ids in document order (joining record sets before the ones they reference); ``cutouts`` only
#: when the dataset was built with --cutouts.
RECORD_SETS = (
    "splits",
    "label_classes",
    "image_channels",
    "column_roles",
    "transient_candidates",
    "cutouts",
    "jobs",
    "truth",
    "images",
    "catalogs",
    "physical",
)

#: The FileObjects: (file name, encoding format, description).
FILES = (
    (names.CANDIDATES_PARQUET, PARQUET, "All candidates, typed (the rows of the three per-split files)"),
    (names.CANDIDATES_CSV, CSV, "All candidates as CSV, in the seed's column order"),
    *((names.candidates_split_name(s), PARQUET, f"Candidates of the {s} split") for s in names.SPLITS),
    (names.JOBS_PARQUET, PARQUET, "One row per RAPID job, failed jobs included"),
    (names.JOBS_CSV, CSV, "The jobs table as CSV"),
    (names.TRUTH_PARQUET, PARQUET, "Truth sources: injections and OpenUniverse transients"),
    (names.TRUTH_CSV, CSV, "The truth table as CSV (the seed's combined_truth_table.csv)"),
    (names.IMAGES_MANIFEST, PARQUET, "Path, sha256, shape, dtype and channels of every .npy tensor"),
    (names.CATALOGS_MANIFEST, PARQUET, "Path, sha256 and kind of every catalog copy"),
    (names.BUILD_INFO, JSON, "rapid-croissant version and build configuration"),
)
_TENSOR_COLUMNS = {
    "kind": schema.Column(
        "string", "sc:Text", None, "image (9-channel tensor), psf (PSF stamp) or mask (NaN bits)"
    ),
    "jid": schema.Column("string", "sc:Text", None, "RAPID job id"),
    "path": schema.Column("string", "sc:Text", None, "Path of the .npy file relative to the dataset folder"),
    "sha256": schema.Column("string", "sc:Text", None, "sha256 of the .npy file"),
    "size_bytes": schema.Column("Int64", "sc:Integer", "byte", "Size of the .npy file"),
    "shape": schema.Column("string", "sc:Text", None, "Array shape, comma-separated (H,W,9 for images)"),
    "dtype": schema.Column("string", "sc:Text", None, "numpy dtype of the array (float32, uint16)"),
    "channels": schema.Column(
        "string", "sc:Text", None, "Channel names in array order (mask: bit order), comma-separated"
    ),
    "normalisation": schema.Column("string", "sc:Text", None, "How the values were scaled"),
}
_CATALOG_COLUMNS = {
    "jid": _TENSOR_COLUMNS["jid"],
    "name": schema.Column("string", "sc:Text", None, "Original file name in the RAPID job folder"),
    "path": schema.Column("string", "sc:Text", None, "Path of the copy relative to the dataset folder"),
    "sha256": schema.Column("string", "sc:Text", None, "sha256 of the copy"),
    "size_bytes": _TENSOR_COLUMNS["size_bytes"],
    "algorithm": schema.Column(
        "string", "sc:Text", None, "zogy or sfft: the difference image it was measured on"
    ),
    "kind": schema.Column(
        "string", "sc:Text", None, "finder (DAOStarFinder), psfcat (PSF photometry), sextractor or sepsfcat"
    ),
}


def _data_type(col: schema.Column):
    """float64 columns are declared cr:Float64 (TFDS would read sc:Float as float32: mjd ~2 minutes off)."""
    return mlc.DataType.FLOAT64 if col.dtype == "float64" else _TYPES[col.croissant]


def _describe(col: schema.Column, link: str | None = None) -> str:
    return (
        col.description
        + (f" [unit: {col.unit}]" if col.unit else "")
        + (f"; refers to {link}" if link else "")
    )


class RecordSetBuilder:
    """Builds FileObjects, FileSets and RecordSets of one dataset folder for one ``mlc.Context``."""

    def __init__(
        self, ctx: mlc.Context, root: Path, *, out_dir: Path, base_url: str = "", repo_url: str = ""
    ):
        self.ctx, self.root, self.out_dir = ctx, Path(root), Path(out_dir)
        self.base_url = base_url.rstrip("/")
        self.repo_url = (repo_url or base_url).rstrip("/")

    def _relative(self, relative: str) -> str:
        """A dataset path as seen from the folder of croissant.json (mlcroissant resolves from there)."""
        return Path(os.path.relpath(self.root.resolve() / relative, self.out_dir.resolve())).as_posix()

    def _split_regex(self) -> str:
        return SPLIT_REGEX.format(prefix="")  # paths inside the dataset folder (the FileSets' container)

    def _url(self, relative: str) -> str:
        return f"{self.base_url}/{relative}" if self.base_url else self._relative(relative)

    def _file(self, name: str, fmt: str, description: str) -> mlc.FileObject:
        path = self.root / name
        return mlc.FileObject(
            ctx=self.ctx,
            id=name,
            name=name,
            description=description,
            content_url=self._url(name),
            encoding_formats=[fmt],
            sha256=sha256_file(path),
            content_size=f"{path.stat().st_size} B",
        )

    def _folder(self) -> mlc.FileObject:
        """The dataset folder as the container of the FileSets: a git repository (``git+https``) when
        published (Hugging Face), the folder itself locally. mlcroissant resolves a FileSet in the dict form
        (the online checker's) only through such a container."""
        return mlc.FileObject(
            ctx=self.ctx,
            id=DATASET_FOLDER,
            name=DATASET_FOLDER,
            description="The dataset folder (a git repository when published); the FileSets are its files",
            content_url=self.repo_url or self._relative("."),
            encoding_formats=[GIT],
            sha256=GIT_CHECKSUM,
        )

    def _file_set(self, id_: str, pattern: str, fmt: str, description: str) -> mlc.FileSet:
        return mlc.FileSet(
            ctx=self.ctx,
            id=id_,
            name=id_,
            description=description,
            contained_in=[DATASET_FOLDER],
            encoding_formats=[fmt],
            includes=[pattern],
        )

    def distribution(self) -> list:
        """Every table as a FileObject with sha256 and size; per-split candidates and catalogs as FileSets."""
        if missing := [name for name, _, _ in FILES if not (self.root / name).is_file()]:
            raise RapidCroissantError(
                f"{self.root}: missing {', '.join(missing)} (build the dataset, then write the manifests)"
            )
        file_sets = [
            self._file_set(
                CANDIDATE_FILES,
                names.candidates_split_name("*"),
                PARQUET,
                "The per-split candidate files; the split is the file name's middle part",
            ),
            self._file_set(
                "catalog-files",
                f"{names.CATALOGS_DIR}/*.txt",
                TEXT,
                "Copies of the RAPID catalogs, <jid>_<original name>; sha256 in catalogs-manifest.parquet",
            ),
        ]
        return [self._file(*spec) for spec in FILES] + [self._folder()] + file_sets + EcoRecords(self).files()

    def _field(
        self,
        rs: str,
        name: str,
        col: schema.Column,
        source: mlc.Source,
        *,
        data_types=None,
        references: str | None = None,
        link: str | None = None,
    ) -> mlc.Field:
        extra = {"references": mlc.Source(ctx=self.ctx, field=references)} if references else {}
        return mlc.Field(
            ctx=self.ctx,
            id=f"{rs}/{name}",
            name=name,
            description=_describe(col, link),
            data_types=data_types or [_data_type(col)],
            source=source,
            **extra,
        )

    def _column_source(self, name: str, *, file_object=None, file_set=None) -> mlc.Source:
        return mlc.Source(
            ctx=self.ctx,
            file_object=file_object,
            file_set=file_set,
            extract=mlc.Extract(ctx=self.ctx, column=name),
        )

    def _table(self, rs: str, columns: dict, *, file_object: str, references: dict | None = None) -> list:
        refs = references or {}
        return [
            self._field(
                rs,
                n,
                c,
                self._column_source(n, file_object=file_object),
                references=refs.get(n),
                link=None if n in refs else (JOB_LINKS if rs == "jobs" else LINKS).get(n),
            )
            for n, c in columns.items()
        ]

    def _inline(self, rs: str, columns: dict[str, tuple], rows: list[tuple], **kwargs) -> mlc.RecordSet:
        fields = [
            mlc.Field(ctx=self.ctx, id=f"{rs}/{n}", name=n, description=d, data_types=[t])
            for n, (t, d) in columns.items()
        ]
        data = [{f"{rs}/{n}": v for n, v in zip(columns, row, strict=True)} for row in rows]
        return mlc.RecordSet(ctx=self.ctx, id=rs, name=rs, fields=fields, data=data, **kwargs)

    def _splits(self) -> mlc.RecordSet:
        columns = {
            "name": (mlc.DataType.TEXT, "Split name"),
            "url": (mlc.DataType.URL, "Croissant split type"),
        }
        return self._inline(
            "splits",
            columns,
            [(s, SPLIT_URLS[s]) for s in names.SPLITS],
            data_types=[mlc.DataType.SPLIT],
            key=["splits/name"],
            description="Train, validation and test splits by sky field (jobs with overlapping WCS "
            "footprints share one split; jobs.field), balanced by filter; recorded in "
            f"{names.SPLIT_RECORD} so that no job moves when the dataset grows",
        )

    def _label_classes(self) -> mlc.RecordSet:
        columns = {
            "label": (mlc.DataType.INTEGER, "Label value"),
            "name": (mlc.DataType.TEXT, "Class name"),
            "description": (mlc.DataType.TEXT, "Meaning"),
        }
        return self._inline(
            "label_classes",
            columns,
            list(LABEL_CLASSES),
            key=["label_classes/label"],
            data_types=[URIRef("https://schema.org/Enumeration")],
            description="Values of transient_candidates/label",
        )

    def _image_channels(self) -> mlc.RecordSet:
        columns = {
            "index": (
                mlc.DataType.INTEGER,
                "Position on the last axis of images/<jid>.npy (bit of the mask)",
            ),
            "name": (mlc.DataType.TEXT, "Channel name"),
            "description": (mlc.DataType.TEXT, "Content and unit before normalisation"),
        }
        rows = [(k, c, schema.CHANNEL_DESCRIPTIONS[c]) for k, c in enumerate(schema.CHANNELS)]
        return self._inline(
            "image_channels",
            columns,
            rows,
            key=["image_channels/index"],
            description="The nine channels of every image tensor, in order",
        )

    def _candidates(self) -> mlc.RecordSet:
        rs = "transient_candidates"
        fields = []
        for name, col in schema.CANDIDATE_SCHEMA.items():
            if name == "split":
                source = mlc.Source(
                    ctx=self.ctx,
                    file_set=CANDIDATE_FILES,
                    extract=mlc.Extract(ctx=self.ctx, file_property="fullpath"),
                    transforms=[mlc.Transform(ctx=self.ctx, regex=self._split_regex())],
                )
                fields.append(self._field(rs, name, col, source, references="splits/name"))
            else:
                types = [mlc.DataType.INTEGER, LABEL] if name == "label" else None
                col = dataclasses.replace(col, description=f"{col.description} [role: {roles.role_of(name)}]")
                source = self._column_source(name, file_set=CANDIDATE_FILES)
                fields.append(self._field(rs, name, col, source, data_types=types, link=LINKS.get(name)))
        return mlc.RecordSet(
            ctx=self.ctx,
            id=rs,
            name=rs,
            key=[f"{rs}/candidate_id"],
            fields=fields,
            description="One row per candidate (ZOGY and SFFT detections merged by position); "
            "filter by split with filters={'transient_candidates/split': 'val'}",
        )

    def record_sets(self) -> list[mlc.RecordSet]:
        """All record sets in ``RECORD_SETS`` order."""
        jobs = self._table("jobs", schema.JOB_SCHEMA, file_object=names.JOBS_PARQUET)
        truth = self._table("truth", schema.TRUTH_SCHEMA, file_object=names.TRUTH_PARQUET)
        images = self._table("images", _TENSOR_COLUMNS, file_object=names.IMAGES_MANIFEST)
        catalogs = self._table("catalogs", _CATALOG_COLUMNS, file_object=names.CATALOGS_MANIFEST)
        kinds = "; ".join(f"{k}: {folder}/<jid>.npy" for k, (folder, _, _) in TENSOR_KINDS.items())
        kinds += "; cutout store when built with --cutouts: cutouts/cutouts-<split>.npy (N, 9, 64, 64) and "
        kinds += "cutouts/valid-<split>.npy, rows in the order of candidates-<split>.parquet"
        kinds += self._store_dtype()
        eco = EcoRecords(self)
        cutouts = [eco.cutouts(*self._cutout_shape())] if eco.has_cutouts else []
        sets = [
            self._splits(),
            self._label_classes(),
            self._image_channels(),
            eco.column_roles(),
            self._candidates(),
            *cutouts,
            mlc.RecordSet(
                ctx=self.ctx,
                id="jobs",
                name="jobs",
                key=["jobs/jid"],
                fields=jobs,
                description="RAPID jobs (one science exposure each), with status and counts",
            ),
            mlc.RecordSet(
                ctx=self.ctx,
                id="truth",
                name="truth",
                key=["truth/jid", "truth/truth_id"],
                fields=truth,
                description="Truth sources per job; truth_id is unique within a job",
            ),
            mlc.RecordSet(
                ctx=self.ctx,
                id="images",
                name="images",
                key=["images/path"],
                fields=images,
                description=f"Manifest of the .npy tensors ({kinds}); read them with numpy.load",
            ),
            mlc.RecordSet(
                ctx=self.ctx,
                id="catalogs",
                name="catalogs",
                key=["catalogs/path"],
                fields=catalogs,
                description="Manifest of the RAPID catalog copies in catalogs/",
            ),
            eco.physical(),
        ]
        assert tuple(s.id for s in sets) == tuple(r for r in RECORD_SETS if r != "cutouts" or cutouts)
        return sets

    def _store_dtype(self) -> str:
        """The dtype and scale of this dataset's cutout store (store.json), said in the description."""
        meta = Layout(self.root).cutout_meta
        if not meta.is_file():
            return ""
        m = json.loads(meta.read_text())
        return f"; this dataset's store: {m['dtype']}, the [0, 1] value = stored value / {m['scale']:g}"

    def _cutout_shape(self) -> tuple[int, int]:
        """(channels, size) of the cutout Parquet files, from the train file's schema."""
        import pyarrow.parquet as pq

        t = pq.read_schema(Layout(self.root).cutout_parquet("train")).field("cutout").type
        return t.list_size, t.value_type.list_size
