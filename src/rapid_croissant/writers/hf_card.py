"""The Hugging Face dataset card: ``README.md`` in the dataset folder, YAML front matter + card text.

``datasets.load_dataset(DATASET_DIR)`` reads the configs listed here, never by globbing the folder, so the
internal files (``.parts/``, the cutout store index, the manifests) never end up in a split:

* ``candidates`` (default): ``candidates-{train,val,test}.parquet`` as train / validation / test, with
  ``label`` a ``ClassLabel(names=[bogus, real])``; label -1 (unknown: the job has no truth files) is kept
  as -1, which is the ``datasets`` convention for "no label" (values are never changed);
* ``cutouts`` (when built with --cutouts): ``cutouts/cutouts-<split>.parquet``, arrays 9x64x64 and 3x64x64;
* ``jobs``, ``truth``, ``physical``: one ``train`` split each (the whole table).
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.parquet as pq

from rapid_croissant.dataset import roles, schema
from rapid_croissant.dataset.layout import (
    CUTOUT_PARQUET_FILE,
    CUTOUTS_DIR,
    JOBS_PARQUET,
    PHYSICAL_PARQUET,
    SPLITS,
    TRUTH_PARQUET,
    Layout,
    candidates_split_name,
)
from rapid_croissant.writers import atomic
from rapid_croissant.writers.croissant_text import KEYWORDS

__all__ = ["HF_SPLITS", "UPLOAD_IGNORE", "card_text", "front_matter", "write_hf_card"]

#: Our split names -> Hugging Face's.
HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}
#: Class names of ``label`` for datasets.ClassLabel (index = label value; -1 = no label).
LABEL_NAMES = ("bogus", "real")
#: What huggingface_hub must not upload (internal, rebuildable or local-only files).
UPLOAD_IGNORE = (".parts/*", ".parts/**", "*.tmp", "**/.*.tmp", "cutouts/*.npy", "cutouts/index-*.parquet")
_HF_TYPES = {
    pa.string(): "string",
    pa.large_string(): "string",
    pa.int64(): "int64",
    pa.int32(): "int32",
    pa.float64(): "float64",
    pa.float32(): "float32",
    pa.bool_(): "bool",
    pa.uint8(): "uint8",
}


def _license_id(url: str) -> str:
    """``https://spdx.org/licenses/CC-BY-4.0.html`` -> ``cc-by-4.0`` (Hugging Face's lower-case ids)."""
    m = re.search(r"licenses/([A-Za-z0-9.\-]+?)(?:\.html)?$", url or "")
    return m.group(1).lower() if m else "other"


def _features(path) -> list[dict]:
    """The Hugging Face features of a flat Parquet table, ``label`` as a ClassLabel."""
    out = []
    for field in pq.read_schema(path):
        if field.name == "label":
            names = {str(k): n for k, n in enumerate(LABEL_NAMES)}
            out.append({"name": "label", "dtype": {"class_label": {"names": names}}})
        elif field.type in _HF_TYPES:
            out.append({"name": field.name, "dtype": _HF_TYPES[field.type]})
        else:
            raise ValueError(f"{path}: column {field.name} has type {field.type}: not a flat table")
    return out


def _size_category(layout: Layout) -> str:
    n = sum(pq.read_metadata(layout.candidates_split(s)).num_rows for s in SPLITS)
    for limit, name in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < limit:
            return name
    return "1M<n<10M"


def front_matter(layout: Layout, values: dict) -> dict:
    """The YAML front matter as a dict (configs, dataset_info, license, tags)."""
    configs = [
        {
            "config_name": "candidates",
            "default": True,
            "data_files": [{"split": HF_SPLITS[s], "path": candidates_split_name(s)} for s in SPLITS],
        }
    ]
    if all(layout.cutout_parquet(s).is_file() for s in SPLITS):
        configs.append(
            {
                "config_name": "cutouts",
                "data_files": [
                    {"split": HF_SPLITS[s], "path": f"{CUTOUTS_DIR}/{CUTOUT_PARQUET_FILE.format(split=s)}"}
                    for s in SPLITS
                ],
            }
        )
    for name, file in (("jobs", JOBS_PARQUET), ("truth", TRUTH_PARQUET), ("physical", PHYSICAL_PARQUET)):
        configs.append({"config_name": name, "data_files": [{"split": "train", "path": file}]})
    return {
        "license": _license_id(values.get("license", "")),
        "pretty_name": values.get("name") or "RAPID real/bogus difference-imaging candidates",
        "tags": sorted({"croissant", *(k.lower().replace(" ", "-") for k in KEYWORDS)}),
        "task_categories": ["image-classification", "tabular-classification"],
        "size_categories": [_size_category(layout)],
        "configs": configs,
        "dataset_info": [
            {"config_name": "candidates", "features": _features(layout.candidates_split(SPLITS[0]))}
        ],
    }


def card_text(values: dict) -> str:
    """The card's Markdown body."""
    features = ", ".join(roles.features()[:6]) + ", ..."
    derived = ", ".join(c for c, r in roles.ROLES.items() if r == "label_derived")
    ignore = ", ".join(f'"{p}"' for p in UPLOAD_IGNORE)
    return f"""# {values.get("name") or "RAPID difference-imaging candidates"}

Real/bogus candidates from RAPID (Nancy Grace Roman Space Telescope) difference imaging with the ZOGY and
SFFT algorithms, described with MLCommons Croissant (`croissant.json`, the full metadata: provenance,
Responsible-AI fields, checksums). Made with rapid-croissant.

## Load

```python
from datasets import load_dataset
cands = load_dataset("PATH_OR_REPO")                  # candidates: train / validation / test
cuts = load_dataset("PATH_OR_REPO", "cutouts")        # cutout (9, 64, 64) float32, valid (3, 64, 64) uint8
jobs = load_dataset("PATH_OR_REPO", "jobs")           # also: truth, physical
```

## Labels

`label` is a ClassLabel: 0 bogus, 1 real; **-1 means unknown** (the job had no truth files), the
`datasets` convention for a missing label. Drop those rows before training.

## Column roles

Only columns whose role is `feature` ({features}) may be model inputs. Label-derived columns
({derived}) are non-null exactly when a candidate matched truth: they leak the label. The full table is the
`column_roles` record set of croissant.json and `rapid_croissant.dataset.roles.ROLES`.

## Cutouts and physical values

Cutouts are centred on the candidate, channels {", ".join(schema.CHANNELS)}, each ZScale-normalised to
[0, 1] per job. The `physical` config gives per job and channel `vmin`/`vmax` (x = vmin + v (vmax - vmin) for
0 < v < 1, in DN/s for images) and the WCS header (pixel (x, y), 0-based, to RA/Dec).

## Upload

```python
from huggingface_hub import HfApi
HfApi().upload_folder(folder_path="DATASET_DIR", repo_id="ORG/NAME", repo_type="dataset",
                      ignore_patterns=[{ignore}])
```
"""


def write_hf_card(dataset_dir, values: dict) -> None:
    """Write ``README.md`` (YAML front matter + card text) into the dataset folder."""
    layout = Layout(dataset_dir)
    import yaml  # PyYAML, a dependency of astropy

    meta = yaml.safe_dump(front_matter(layout, values), sort_keys=False, allow_unicode=True)
    text = "---\n" + meta + "---\n\n" + card_text(values)
    atomic.write_text(layout.hf_readme, text)
