"""The parts of croissant.json that reach the pixels and say what each column is for.

* ``cutouts`` (only when the dataset has ``cutouts/cutouts-<split>.parquet``): candidate_id, jid, the split
  from the file name (filterable like transient_candidates), ``cutout`` declared as a 9 x 64 x 64
  ``cr:Float32`` array and ``valid`` as a 3 x 64 x 64 ``cr:UInt8`` array (``isArray`` + ``arrayShape``);
* ``physical``: per job the ZScale limits of every channel and the WCS header (back to DN/s and RA/Dec);
* ``column_roles``: one row per candidates column with its role (feature, label, label_derived, identifier,
  provenance), the table of dataset/roles.py.

mlcroissant 1.1.1 returns an array field as a flat list (``arrayShape`` is not applied): reshape with the
declared shape, or read the Parquet file with pyarrow (``RapidCutouts``).
"""

from __future__ import annotations

import re

import mlcroissant as mlc

from rapid_croissant.dataset import roles
from rapid_croissant.dataset.cutout_parquet import VALID_PLANES
from rapid_croissant.dataset.layout import CUTOUT_PARQUET_FILE, CUTOUTS_DIR, PHYSICAL_PARQUET, SPLITS, Layout
from rapid_croissant.dataset.physical import PHYSICAL_COLUMNS

__all__ = ["CUTOUT_FILES", "EcoRecords"]

CUTOUT_FILES = "cutout-split-files"
PARQUET = "application/x-parquet"
#: The split of a cutout row, from its file name (applied twice by mlcroissant: prefix and suffix optional).
CUTOUT_SPLIT_REGEX = r"^(?:{prefix}cutouts-)?(train|val|test)(?:\.parquet)?$"


class EcoRecords:
    """FileObjects, FileSets and record sets for cutouts, physical values and column roles."""

    def __init__(self, builder):
        self.b = builder  # the RecordSetBuilder: ctx, root, _file, _file_set, _field, _relative
        self.ctx = builder.ctx
        self.layout = Layout(builder.root)

    @property
    def has_cutouts(self) -> bool:
        return all(self.layout.cutout_parquet(s).is_file() for s in SPLITS)

    def files(self) -> list:
        """physical.parquet (always) and the per-split cutout FileSet (when built with --cutouts)."""
        out = [
            self.b._file(
                PHYSICAL_PARQUET, PARQUET, "Per job: ZScale limits of every channel and the WCS header"
            )
        ]
        if self.has_cutouts:
            out.append(
                self.b._file_set(
                    CUTOUT_FILES,
                    f"{CUTOUTS_DIR}/" + CUTOUT_PARQUET_FILE.format(split="*"),
                    PARQUET,
                    "The per-split cutout files; the split is the file name's middle part",
                )
            )
        return out

    def _split_regex(self) -> str:
        return CUTOUT_SPLIT_REGEX.format(prefix=re.escape(CUTOUTS_DIR + "/"))

    def _column(self, rs: str, name: str, types, description: str, **kw) -> mlc.Field:
        source = mlc.Source(
            ctx=self.ctx, file_set=CUTOUT_FILES, extract=mlc.Extract(ctx=self.ctx, column=name)
        )
        return mlc.Field(
            ctx=self.ctx,
            id=f"{rs}/{name}",
            name=name,
            description=description,
            data_types=types,
            source=source,
            **kw,
        )

    def cutouts(self, n_channels: int, size: int) -> mlc.RecordSet:
        rs = "cutouts"
        split = mlc.Field(
            ctx=self.ctx,
            id=f"{rs}/split",
            name="split",
            description="Split, from the file name cutouts/cutouts-<split>.parquet",
            data_types=[mlc.DataType.TEXT],
            source=mlc.Source(
                ctx=self.ctx,
                file_set=CUTOUT_FILES,
                extract=mlc.Extract(ctx=self.ctx, file_property="fullpath"),
                transforms=[mlc.Transform(ctx=self.ctx, regex=self._split_regex())],
            ),
            references=mlc.Source(ctx=self.ctx, field="splits/name"),
        )
        fields = [
            self._column(
                rs, "candidate_id", [mlc.DataType.TEXT], "Candidate; refers to transient_candidates"
            ),
            self._column(rs, "jid", [mlc.DataType.TEXT], "RAPID job id; refers to jobs/jid and physical/jid"),
            split,
            self._column(
                rs,
                "cutout",
                [mlc.DataType.FLOAT32],
                f"{n_channels} x {size} x {size} cutout centred on the candidate (pixel floor(x + 0.5), "
                f"floor(y + 0.5) at index {size // 2}), channels in image_channels order, ZScale-normalised "
                "to [0, 1] per job and channel (limits in physical); the psf channel holds the job's native "
                "PSF stamp; 0 where invalid",
                is_array=True,
                array_shape=f"{n_channels},{size},{size}",
            ),
            self._column(
                rs,
                "valid",
                [mlc.DataType.UINT8],
                f"{len(VALID_PLANES)} x {size} x {size} validity planes for the channel sets "
                f"{', '.join(VALID_PLANES)}: 1 where the pixel is inside the image and none of the set's "
                "channels is NaN",
                is_array=True,
                array_shape=f"{len(VALID_PLANES)},{size},{size}",
            ),
        ]
        return mlc.RecordSet(
            ctx=self.ctx,
            id=rs,
            name=rs,
            key=[f"{rs}/candidate_id"],
            fields=fields,
            description="Per-candidate cutouts as arrays (Parquet nested fixed-size lists); filter by split "
            "with filters={'cutouts/split': 'val'}",
        )

    def physical(self) -> mlc.RecordSet:
        fields = self.b._table("physical", PHYSICAL_COLUMNS, file_object=PHYSICAL_PARQUET)
        return mlc.RecordSet(
            ctx=self.ctx,
            id="physical",
            name="physical",
            key=["physical/jid"],
            fields=fields,
            description="Back to physical values and the sky: for each job, x = vmin + v * (vmax - vmin) "
            "maps a normalised value v in (0, 1) of a channel back to its unit (0 and 1 are clipped); "
            "wcs_header maps the 0-based tensor pixel (x, y) to RA/Dec (astropy: "
            "WCS(Header.fromstring(h, sep='\\n')).all_pix2world(x, y, 0))",
        )

    def column_roles(self) -> mlc.RecordSet:
        columns = {
            "column": (mlc.DataType.TEXT, "A column of transient_candidates"),
            "role": (mlc.DataType.TEXT, "feature, label, label_derived, identifier or provenance"),
            "role_description": (mlc.DataType.TEXT, "What the role means"),
        }
        rows = [(c, r, roles.ROLE_DESCRIPTIONS[r]) for c, r in roles.ROLES.items()]
        return self.b._inline(
            "column_roles",
            columns,
            rows,
            key=["column_roles/column"],
            description="What each candidates column is for: only 'feature' columns may be model inputs; "
            "'label_derived' columns leak the label",
        )
