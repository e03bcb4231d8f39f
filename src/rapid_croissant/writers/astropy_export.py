"""Tables for astropy users: the dataset's own Parquet files carry astropy's metadata, and
``export/<table>.{ecsv,vot,parquet}`` are written by astropy.

Each column carries its unit (``DN/s``, ``deg``, ``pix``, ``mag``, ``d``) and description; missing values
are masked (a null text, integer or boolean becomes a masked entry, never a made-up value; a float keeps NaN,
as in the dataset's Parquet files). ``Table.read`` opens all three formats, and
``SkyCoord(t["ra"], t["dec"])`` works straight away (degrees). The Parquet export uses astropy's own
convention (table metadata in YAML and a ``<name>.mask`` column for masked columns).

The dataset's own Parquet tables (candidates, per split, truth, jobs, physical) are written by
:func:`write_parquet_with_astropy_meta`: the same columns and values as ``DataFrame.to_parquet`` (pandas,
pyarrow, Hugging Face and mlcroissant read them unchanged), plus astropy's schema metadata, so that
``Table.read`` opens them too. astropy's Parquet reader knows no null text (it fails on one, TypeError, or
with a length given turns it into the text "None"), so the metadata gives each text column's length and
declares every column with missing values a MaskedColumn whose mask is stored in the metadata (one byte per
row, base64, for those columns only): a null comes back masked. An integer column with missing values comes
back as float64 (what pyarrow gives astropy), its missing entries masked.

The VOTable uses the BINARY2 serialisation (null flags for every type); astropy 8 still reads a null text
back as "" (only ECSV and the Parquet files keep it masked). DN (data number) is not a VOUnit: VOTable
readers warn (W50) and keep the unit string.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import SPLITS, Layout
from rapid_croissant.dataset.physical import PHYSICAL_COLUMNS
from rapid_croissant.errors import RapidCroissantError

__all__ = [
    "FORMATS",
    "astropy_parquet_metadata",
    "export_tables",
    "to_astropy",
    "write_parquet_with_astropy_meta",
]

log = logging.getLogger(__name__)

#: Export format -> file suffix and astropy writer format.
FORMATS = {"ecsv": ("ecsv", "ascii.ecsv"), "votable": ("vot", "votable"), "parquet": ("parquet", "parquet")}


def _column(series: pd.Series, spec: schema.Column | None):
    from astropy.table import Column, MaskedColumn

    missing = series.isna().to_numpy()
    dtype = spec.dtype if spec is not None else str(series.dtype)
    if dtype == "float64" or pd.api.types.is_float_dtype(series.dtype):
        data, mask = series.astype("float64").to_numpy(), None  # NaN is the missing float, as in the Parquet
    elif dtype == "Int64" or pd.api.types.is_integer_dtype(series.dtype):
        data, mask = series.fillna(0).astype("int64").to_numpy(), missing
    elif dtype == "boolean" or pd.api.types.is_bool_dtype(series.dtype):
        data, mask = series.fillna(False).astype(bool).to_numpy(), missing
    else:
        data, mask = series.fillna("").astype(str).to_numpy(dtype=str), missing
    kw = {
        "name": series.name,
        "unit": spec.unit if spec else None,
        "description": spec.description if spec else None,
    }
    if mask is not None and mask.any():
        return MaskedColumn(data, mask=mask, **kw)
    return Column(np.asarray(data), **kw)


def to_astropy(frame: pd.DataFrame, columns: dict[str, schema.Column]):
    """An ``astropy.table.Table`` of ``frame`` with units, descriptions and masks from ``columns``."""
    from astropy.table import Table

    return Table([_column(frame[name], columns.get(name)) for name in frame.columns])


@functools.cache
def _fast_dumper():
    """astropy's table YAML dumper on libyaml's C emitter: its representers, and mappings ordered as astropy
    orders them (a column's attributes in its own order, other keys sorted). None without libyaml."""
    import yaml
    from astropy.io.misc.yaml import AstropyDumper
    from astropy.table import meta

    if not getattr(yaml, "__with_libyaml__", False):
        return None

    class Dumper(yaml.CSafeDumper):
        yaml_representers = dict(AstropyDumper.yaml_representers)
        yaml_multi_representers = dict(AstropyDumper.yaml_multi_representers)
        _represent_tuple = AstropyDumper._represent_tuple
        represent_float = AstropyDumper.represent_float

        def represent_mapping(self, tag, mapping, flow_style=None):
            items = mapping.items() if hasattr(mapping, "items") else mapping
            if hasattr(items, "sort"):  # astropy's column attributes sort themselves in their own order
                items.sort()
            else:
                try:
                    items = sorted(items)
                except TypeError:
                    items = list(items)
            node = yaml.MappingNode(tag, [], flow_style=flow_style)
            if self.alias_key is not None:
                self.represented_objects[self.alias_key] = node
            plain = True
            for key, value in items:
                pair = (self.represent_data(key), self.represent_data(value))
                plain = plain and all(isinstance(n, yaml.ScalarNode) and not n.style for n in pair)
                node.value.append(pair)
            if flow_style is None:
                node.flow_style = plain if self.default_flow_style is None else self.default_flow_style
            return node

    Dumper.add_representer(OrderedDict, meta._repr_odict)
    Dumper.add_representer(meta.ColumnDict, meta._repr_column_dict)
    return Dumper


def table_yaml_lines(table) -> list[str]:
    """``astropy.table.meta.get_yaml_from_table(table)``, the same lines, written by libyaml's emitter:
    30x faster on a table with masks (0.02 s instead of 0.6 s for 72,288 candidates, whose masks make
    most of the text; tests/writers/test_astropy_export.py compares the two). Falls back to astropy's
    own function without libyaml."""
    import yaml
    from astropy.table import meta

    dumper = _fast_dumper()
    if dumper is None:
        return meta.get_yaml_from_table(table)
    header = {"datatype": [meta._get_col_attributes(c) for c in table.columns.values()]}
    if table.meta:
        header["meta"] = OrderedDict(table.meta)
    return yaml.dump(header, default_flow_style=None, Dumper=dumper, width=130).splitlines()


def encoded_table(table):
    """``table`` as astropy serialises it into Parquet, but with each mask in the metadata (YAML), not in
    a ``<name>.mask`` column of the file."""
    from astropy.table import serialize
    from astropy.utils.data_info import serialize_context_as

    with serialize_context_as("parquet"):
        encoded = serialize.represent_mixins_as_columns(table)
    for name, parts in encoded.meta.get("__serialized_columns__", {}).items():
        parts["mask"] = np.ma.getmaskarray(table[name]).copy()
        encoded.remove_column(f"{name}.mask")
    return encoded


def astropy_parquet_metadata(frame: pd.DataFrame, columns: dict[str, schema.Column]) -> dict[str, str]:
    """astropy's Parquet schema metadata for ``frame``: ``table_meta_yaml`` (units, descriptions, and each
    column with missing values as a MaskedColumn with its mask) and ``table::len::<name>`` per text column."""
    table = to_astropy(frame, columns)
    out = {"table_meta_yaml": "\n".join(table_yaml_lines(encoded_table(table)))}
    for name in table.colnames:
        if table[name].dtype.kind == "U":
            out[f"table::len::{name}"] = str(max(1, table[name].dtype.itemsize // 4))
    return out


def write_parquet_with_astropy_meta(path, frame: pd.DataFrame, columns: dict[str, schema.Column]) -> None:
    """``frame.to_parquet(path, index=False)`` plus astropy's metadata (the values are the same)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    extra = {k.encode(): v.encode() for k, v in astropy_parquet_metadata(frame, columns).items()}
    pq.write_table(arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **extra}), path)


def _tables(layout: Layout) -> dict[str, tuple[Path, dict]]:
    tables = {f"candidates-{s}": (layout.candidates_split(s), schema.CANDIDATE_SCHEMA) for s in SPLITS}
    tables["jobs"] = (layout.jobs_parquet, schema.JOB_SCHEMA)
    tables["truth"] = (layout.truth_parquet, schema.TRUTH_SCHEMA)
    tables["physical"] = (layout.physical, PHYSICAL_COLUMNS)
    return tables


def export_tables(dataset_dir, formats=("ecsv", "votable", "parquet")) -> list[Path]:
    """Write ``export/<table>.<suffix>`` for every table and format; returns the paths written."""
    from astropy.io.votable.exceptions import W50

    from rapid_croissant.writers.atomic import atomic_path

    layout = Layout(dataset_dir)
    if unknown := [f for f in formats if f not in FORMATS]:
        raise RapidCroissantError(f"export format must be one of {', '.join(FORMATS)}, got {unknown}")
    layout.export_dir.mkdir(exist_ok=True)
    written = []
    for stem, (path, columns) in _tables(layout).items():
        if not path.is_file():
            raise RapidCroissantError(f"{path}: missing (build the dataset first)")
        table = to_astropy(pd.read_parquet(path), columns)
        for fmt in formats:
            suffix, writer = FORMATS[fmt]
            out = layout.export(stem, suffix)
            with atomic_path(out) as tmp, warnings.catch_warnings():
                warnings.simplefilter("ignore", W50)  # DN/s is not a VOUnit: the string is kept
                extra = {"tabledata_format": "binary2"} if fmt == "votable" else {}  # BINARY2 has null flags
                table.write(tmp, format=writer, overwrite=True, **extra)
            written.append(out)
    log.info("exported %d files to %s", len(written), layout.export_dir)
    return written
