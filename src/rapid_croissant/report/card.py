"""DATASET_CARD.md: what the data are, how labels are made, balance, splits, label noise, biases, loading.

Every number is computed from the dataset's own tables. The loading examples are plain Python blocks
that a test runs against a built dataset (with ``DATASET`` set to its folder).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rapid_croissant import __version__
from rapid_croissant.dataset import Layout, open_dataset, schema
from rapid_croissant.dataset import layout as names
from rapid_croissant.jsonfile import load_json
from rapid_croissant.report.escape import md_text
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


def _balance_table(dataset_dir: Path) -> str:
    from rapid_croissant.ml.composition import balance_rows, composition
    from rapid_croissant.ml.formatting import markdown_table

    return markdown_table(balance_rows(composition(dataset_dir, n_boot=0)))


def _per_algorithm_table(cand: pd.DataFrame, truth: pd.DataFrame, radius: float) -> str:
    rows = [
        "| algorithm | detections | real | bogus | real:bogus | flagged labels | chance matches (shifted "
        "truth) |",
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
train = pd.read_parquet(os.path.join(DATASET, "{train_file}"))  # fast path (pyarrow)
print(len(train), "training candidates;", int((train.label == 1).sum()), "real")
```

```python
import os

import mlcroissant as mlc

DATASET = os.environ.get("DATASET", ".")
ds = mlc.Dataset(jsonld=os.path.join(DATASET, "{croissant_file}"))
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


def results_text(comparison: dict | None) -> list[str]:
    """The card's classifier section, rendered from comparison.json (nothing recomputed)."""
    from rapid_croissant.ml.formatting import markdown_table
    from rapid_croissant.ml.tables import calibration_rows, evaluation_sentence, fold_rows, fom_rows, run_rows

    lines = ["## Classifier results", ""]
    if comparison is None:
        return lines + ["No classifier comparison yet: run `rapid-croissant compare`, then `report`.", ""]
    lines += [evaluation_sentence(comparison), "", markdown_table(run_rows(comparison)), ""]
    published = comparison.get("published_fom", {})
    if fom_rows(comparison):
        lines += [
            "RAPID's figure-of-merit quantities per algorithm, at detection and after the classifier "
            f"(RAPID's published FOM: ZOGY {published.get('zogy', {}).get('fom', 'n/a')}, SFFT "
            f"{published.get('sfft', {}).get('fom', 'n/a')} mag):",
            "",
            markdown_table(fom_rows(comparison)),
            "",
        ]
    for title, rows in (("Calibration", calibration_rows(comparison)), ("Folds", fold_rows(comparison))):
        if rows:
            lines += [f"{title}:", "", markdown_table(rows), ""]
    return lines


def _comparison(ds, comparison) -> dict | None:
    from rapid_croissant.ml.run import ComparisonFolder

    path = (
        ComparisonFolder.of(comparison).json
        if comparison
        else ComparisonFolder(ds.layout.comparison_dir).json
    )
    return load_json(path) if path.is_file() else None


def card_text(dataset_dir: Path, comparison: str | Path | None = None) -> str:
    """The card's Markdown; its classifier section comes from ``comparison`` (default: the dataset's
    comparison/ folder) when compare has run."""
    ds = open_dataset(dataset_dir)
    cand, truth, jobs = ds.candidates, ds.truth, ds.jobs
    info = load_json(ds.layout.build_info)
    cfg = info["config"]
    mags = truth.mag.dropna()
    ok = jobs[jobs.status != "failed"]
    filters = ", ".join(md_text(f) for f in sorted(ok["filter"].dropna().unique()))  # header text: escaped
    lines = [
        "# Dataset card",
        "",
        f"Built by rapid-croissant {md_text(info.get('rapid_croissant_version', __version__))} "
        f"on {md_text(info.get('created', '?'))}.",
        "",
        "## What the data are",
        "",
        f"{len(cand)} transient candidates from {len(ok)} RAPID difference-imaging jobs "
        f"({len(jobs) - len(ok)} failed) "
        f"in {ok['filter'].nunique()} filters ({filters}), MJD "
        f"{ok.mjd.min():.2f}-{ok.mjd.max():.2f}. Each candidate is a detection by ZOGY, by SFFT, or by both "
        "(merged by position), with both algorithms' photutils features, a 9-channel image tensor per job "
        "(`images/`), a NaN mask (`masks/`) and the native difference PSF (`psfs/`).",
        "",
        "## Where they come from",
        "",
        "RAPID job folders: the science and reference images, ZOGY and SFFT difference products, their "
        "photutils "
        "catalogs, the injection list and the OpenUniverse truth index. When built from `rapid-croissant "
        "simulate`, "
        "the sky is simulated (stars, Sersic galaxies, Moffat PSF, noise, cosmic rays, hot pixels, "
        "saturation, "
        "coverage gaps) and the difference images come from real ZOGY and SFFT runs.",
        "",
        "## How labels are made",
        "",
        "Truth: injected sources and OpenUniverse transients, converted to 0-based pixels (origin "
        f"{md_text(cfg['truth_origin'])}), "
        "AB magnitudes from ZPTMAG and the band zero point. Each algorithm's detections are matched to "
        "truth on their own, "
        f"one-to-one, closest pairs first, within **{md_text(cfg['match_radius'])} px**; only truth "
        f"brighter than **AB {md_text(cfg['mag_limit'])}**"
        + (f" with expected S/N >= {md_text(cfg['min_truth_snr'])}" if cfg["min_truth_snr"] else "")
        + f" can make a detection real. ZOGY and SFFT detections are merged when mutual nearest within "
        f"**{md_text(cfg['merge_radius'])} px**. Label 1 real, 0 bogus, -1 unknown (job without truth).",
        "",
        "## Class balance",
        "",
        _balance_table(dataset_dir),
        "",
        "Per algorithm (each algorithm's own labels):",
        "",
        _per_algorithm_table(cand, truth, cfg["match_radius"]),
        "",
        "## Label noise",
        "",
        "Chance coincidences were measured by matching every algorithm's detections against the truth "
        "shifted by "
        f"{SHIFT_PX:.0f} px in x and y (table above): that many of the real labels are expected to be random "
        "alignments of a bogus detection with truth. Flagged labels:",
        "",
        _flag_table(cand),
        "",
        "## Splits",
        "",
        "By job (one job's candidates never span two splits), about 70/15/15 by job count, balanced by "
        "filter, "
        f"seeded (seed {md_text(cfg.get('split_seed', 0))}): "
        + ", ".join(f"{s} {int((jobs.split == s).sum())} jobs" for s in schema.SPLITS)
        + ".",
        "",
        "## Known biases and limitations",
        "",
        f"- Truth magnitudes span AB {mags.min():.1f}-{mags.max():.1f}; injections are uniform in AB 21-28 "
        "and mostly "
        "placed on galaxies (as RAPID does), so nuclear residuals are over-represented among faint reals.",
        "- Real transients not in the truth lists (variable stars, uncatalogued transients) are labelled "
        "bogus.",
        "- The 4 px default match radius is generous (RAPID's own evaluation uses 0.5 px): rebuild with "
        "`--match-radius` to tighten it; `match_dist` lets users apply a stricter rule without rebuilding.",
        "- Images are ZScale-normalised per job and channel to [0, 1] (the seed's choice): the sign and "
        "noise units "
        "of the difference and S_corr are not preserved; the PSF channel is a resized stamp (use `psfs/`).",
        "- Simulated skies, when built from the simulator, have simple PSFs and no spatial PSF variation.",
        "",
        *results_text(_comparison(ds, comparison)),
        "## How to load it",
        "",
        LOADING.replace("{train_file}", names.candidates_split_name("train")).replace(
            "{croissant_file}", names.CROISSANT_JSON
        ),
        "",
    ]
    return "\n".join(lines)


def write_dataset_card(dataset_dir: str | Path, comparison: str | Path | None = None) -> Path:
    root = Path(dataset_dir)
    path = Layout(root).dataset_card
    write_text(path, card_text(root, comparison))
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
