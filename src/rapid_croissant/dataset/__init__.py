"""The read side of a built dataset: its layout, its tables, its cutout store and its validator.

- :class:`Layout` (``layout.py``): every file and folder name of a dataset, the only place they are spelled;
- :func:`open_dataset` (``tables.py``): lazily read tables (pyarrow -> pandas), splits, build info and the
  cutout store reader (``cutouts.py``);
- ``validate.py``: check a dataset and its croissant.json;
- ``schema.py``: the output columns (dtypes, units, descriptions, label values).
"""

from rapid_croissant.dataset.layout import SPLITS, Layout
from rapid_croissant.dataset.tables import Dataset, DatasetError, Tables, open_dataset, read_table

__all__ = ["SPLITS", "Dataset", "DatasetError", "Layout", "Tables", "open_dataset", "read_table"]
