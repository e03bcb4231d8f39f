"""DATASET_CARD.md: what the data are, how labels are made, balance, splits, label noise, biases, loading.

Every number is computed from the dataset's own tables. The loading examples are plain Python blocks
that a test runs against a built dataset (with ``DATASET`` set to its folder).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from rapid_croissant import __version__
from rapid_croissant.dataset import Layout, open_dataset, schema
from rapid_croissant.science.matching import match_one_to_one
from rapid_croissant.writers.atomic import write_text

#: Truth positions are shifted by this many pixels to measure chance coincidences.
SHIFT_PX = 12.0


def chance_match_rate(cand: pd.DataFrame, truth: pd.DataFrame, *, algorithm: str, radius: float) -> dict:
    """Matches against truth shifted by SHIFT_PX (x and y), as a fraction of the real matches."""
    n_shift = n_real = 0
    has = cand[f"{algorithm}_id"].notna()
    for jid, det in cand[has].groupby("jid"):
        t = truth[(truth.jid == jid) & truth.bright]
        if len(t) == 0:
            continue
        dxy = det[[f"{algorithm}_x", f"{algorithm}_y"]].to_numpy(float)
        n_shift += len(match_one_to_one(dxy, t[["x", "y"]].to_numpy(float) + SHIFT_PX, radius=radius))
        n_real += int((det[f"{algorithm}_label"] == 1).sum())
    return {
        "shifted_matches": n_shift,
        "real_labels": n_real,
        "rate": n_shift / n_real if n_real else float("nan"),
    }


def _balance_table(cand: pd.DataFrame) -> str:
    rows = [
        "| split | candidates | real | bogus | unknown | ZOGY-only | SFFT-only | both |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for split in (*schema.SPLITS, "all"):
        c = cand if split == "all" else cand[cand.split == split]
        by = c.detected_by.value_counts()
        rows.append(
            f"| {split} | {len(c)} | {(c.label == 1).sum()} | {(c.label == 0).sum()} | {(c.label == -1).sum()} | "
            f"{by.get('zogy', 0)} | {by.get('sfft', 0)} | {by.get('both', 0)} |"
        )
    return "\n".join(rows)


def _per_algorithm_table(cand: pd.DataFrame, truth: pd.DataFrame, radius: float) -> str:
    rows = [
        "| algorithm | detections | real | bogus | real:bogus | flagged labels | chance matches (shifted truth) |",
        "|---|---|---|---|---|---|---|",
    ]
    for alg in schema.SUBTRACTIONS:
        c = cand[cand[f"{alg}_id"].notna()]
        real, bogus = int((c[f"{alg}_label"] == 1).sum()), int((c[f"{alg}_label"] == 0).sum())
        ch = chance_match_rate(cand, truth, algorithm=alg, radius=radius)
        ratio = f"1:{bogus / real:.2f}" if real else "n/a"
        rows.append(
            f"| {alg.upper()} | {len(c)} | {real} | {bogus} | {ratio} | {int((c.label_flag != '').sum())} | "
            f"{ch['shifted_matches']} ({100 * ch['rate']:.1f} % of real labels) |"
        )
    return "\n".join(rows)


def _flag_table(cand: pd.DataFrame) -> str:
    flags = cand.label_flag[cand.label_flag != ""].value_counts()
    if flags.empty:
        return "No label was flagged."
    rows = ["| flag | candidates | meaning |", "|---|---|---|"]
    for flag, n in flags.items():
        rows.append(f"| `{flag}` | {n} | {schema.LABEL_FLAGS.get(flag, '')} |")
    return "\n".join(rows)


LOADING = """```python
import os

import pandas as pd

DATASET = os.environ.get("DATASET", ".")
train = pd.read_parquet(os.path.join(DATASET, "candidates-train.parquet"))  # fast path (pyarrow)
print(len(train), "training candidates;", int((train.label == 1).sum()), "real")
```

```python
import os

import mlcroissant as mlc

DATASET = os.environ.get("DATASET", ".")
ds = mlc.Dataset(jsonld=os.path.join(DATASET, "croissant.json"))
records = ds.records("transient_candidates", filters={"transient_candidates/split": "val"})
first = next(iter(records))  # text comes back as bytes, NaN as None
print(first["transient_candidates/candidate_id"])
```

```python
import os

from rapid_croissant.ml.data import feature_matrix, load_tables, select_candidates
from rapid_croissant.ml.loader import CutoutDataset

DATASET = os.environ.get("DATASET", ".")
tables = load_tables(DATASET)  # candidates, jobs, truth (pyarrow)
rows = select_candidates(tables.candidates, algorithm="zogy", protocol="A")  # labelled ZOGY detections
train = rows[rows.split == "train"]
_, _, stats = feature_matrix(train, algorithm="zogy")  # standardise with training statistics only
cutouts = CutoutDataset(DATASET, train, algorithm="zogy", feature_stats=stats)
image, valid, features, label = cutouts[0]  # (6, 64, 64) cutout, validity mask, features, 0/1 label
print(tuple(image.shape), tuple(features.shape), float(label))
```"""


def card_text(dataset_dir: Path) -> str:
    ds = open_dataset(dataset_dir)
    cand, truth, jobs = ds.candidates, ds.truth, ds.jobs
    info = json.loads(ds.layout.build_info.read_text())
    cfg = info["config"]
    mags = truth.mag.dropna()
    ok = jobs[jobs.status != "failed"]
    lines = [
        "# Dataset card",
        "",
        f"Built by rapid-croissant {info.get('rapid_croissant_version', __version__)} on {info.get('created', '?')}.",
        "",
        "## What the data are",
        "",
        f"{len(cand)} transient candidates from {len(ok)} RAPID difference-imaging jobs ({len(jobs) - len(ok)} failed) "
        f"in {ok['filter'].nunique()} filters ({', '.join(sorted(ok['filter'].dropna().unique()))}), MJD "
        f"{ok.mjd.min():.2f}-{ok.mjd.max():.2f}. Each candidate is a detection by ZOGY, by SFFT, or by both "
        "(merged by position), with both algorithms' photutils features, a 9-channel image tensor per job "
        "(`images/`), a NaN mask (`masks/`) and the native difference PSF (`psfs/`).",
        "",
        "## Where they come from",
        "",
        "RAPID job folders: the science and reference images, ZOGY and SFFT difference products, their photutils "
        "catalogs, the injection list and the OpenUniverse truth index. When built from `rapid-croissant simulate`, "
        "the sky is simulated (stars, Sersic galaxies, Moffat PSF, noise, cosmic rays, hot pixels, saturation, "
        "coverage gaps) and the difference images come from real ZOGY and SFFT runs.",
        "",
        "## How labels are made",
        "",
        f"Truth: injected sources and OpenUniverse transients, converted to 0-based pixels (origin {cfg['truth_origin']}), "
        "AB magnitudes from ZPTMAG and the band zero point. Each algorithm's detections are matched to truth on their own, "
        f"one-to-one, closest pairs first, within **{cfg['match_radius']} px**; only truth brighter than "
        f"**AB {cfg['mag_limit']}**"
        + (f" with expected S/N >= {cfg['min_truth_snr']}" if cfg["min_truth_snr"] else "")
        + f" can make a detection real. ZOGY and SFFT detections are merged when mutual nearest within "
        f"**{cfg['merge_radius']} px**. Label 1 real, 0 bogus, -1 unknown (job without truth).",
        "",
        "## Class balance",
        "",
        _balance_table(cand),
        "",
        "Per algorithm (each algorithm's own labels):",
        "",
        _per_algorithm_table(cand, truth, cfg["match_radius"]),
        "",
        "## Label noise",
        "",
        f"Chance coincidences were measured by matching every algorithm's detections against the truth shifted by "
        f"{SHIFT_PX:.0f} px in x and y (table above): that many of the real labels are expected to be random "
        "alignments of a bogus detection with truth. Flagged labels:",
        "",
        _flag_table(cand),
        "",
        "## Splits",
        "",
        "By job (one job's candidates never span two splits), about 70/15/15 by job count, balanced by filter, "
        f"seeded (seed {cfg.get('split_seed', 0)}): "
        + ", ".join(f"{s} {int((jobs.split == s).sum())} jobs" for s in schema.SPLITS)
        + ".",
        "",
        "## Known biases and limitations",
        "",
        f"- Truth magnitudes span AB {mags.min():.1f}-{mags.max():.1f}; injections are uniform in AB 21-28 and mostly "
        "placed on galaxies (as RAPID does), so nuclear residuals are over-represented among faint reals.",
        "- Real transients not in the truth lists (variable stars, uncatalogued transients) are labelled bogus.",
        "- The 4 px default match radius is generous (RAPID's own evaluation uses 0.5 px): rebuild with "
        "`--match-radius` to tighten it; `match_dist` lets users apply a stricter rule without rebuilding.",
        "- Images are ZScale-normalised per job and channel to [0, 1] (the seed's choice): the sign and noise units "
        "of the difference and S_corr are not preserved; the PSF channel is a resized stamp (use `psfs/`).",
        "- Simulated skies, when built from the simulator, have simple PSFs and no spatial PSF variation.",
        "",
        "## How to load it",
        "",
        LOADING,
        "",
    ]
    return "\n".join(lines)


def write_dataset_card(dataset_dir: str | Path) -> Path:
    root = Path(dataset_dir)
    path = Layout(root).dataset_card
    write_text(path, card_text(root))
    return path


def code_blocks(text: str) -> list[str]:
    """The ```python blocks of a card (for the test that runs them)."""
    blocks, inside, cur = [], False, []
    for line in text.splitlines():
        if line.strip() == "```python":
            inside, cur = True, []
        elif line.strip() == "```" and inside:
            blocks.append("\n".join(cur))
            inside = False
        elif inside:
            cur.append(line)
    return blocks


__all__ = ["write_dataset_card", "card_text", "code_blocks", "chance_match_rate"]
