"""The read side of a built dataset: its layout, its tables, its cutout store and its validator.

- :class:`Layout` (``layout.py``): every file and folder name of a dataset, the only place they are spelled;
- :func:`open_dataset` (``tables.py``): lazily read tables (pyarrow -> pandas), splits, build info and the
  cutout store reader (``cutouts.py``);
- ``manifests.py``: what the manifest tables hold; ``validate.py``: check a dataset and its croissant.json;
- ``schema.py``: the output columns (dtypes, units, descriptions, label values).

Only ``Layout`` is imported eagerly (the CLI needs names, not pandas); the rest on first use.
"""

from rapid_croissant.dataset.layout import SPLITS, Layout

__all__ = ["SPLITS", "Dataset", "DatasetError", "Layout", "Tables", "open_dataset", "read_table"]

_LAZY = {"Dataset", "DatasetError", "Tables", "open_dataset", "read_table"}


def __getattr__(name: str):
    if name in _LAZY:
        from rapid_croissant.dataset import tables

        return getattr(tables, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
