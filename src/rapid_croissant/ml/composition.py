"""What a dataset holds, per split: candidates, labels, injected vs natural reals, filters, detection overlap.

The seed's ``test_croissant_dataset.py`` printed this before training; here it is a dict (saved as JSON)
plus a text rendering, with the class balance the seed never reported (rapid_formats.md §9 item 25).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.dataset import schema
from rapid_croissant.ml.data import load_tables

__all__ = ["composition", "format_composition", "summarise_candidates"]


def _label_counts(label: pd.Series) -> dict[str, int]:
    values = pd.to_numeric(label, errors="coerce")
    real = int((values == schema.LABEL_REAL).sum())
    bogus = int((values == schema.LABEL_BOGUS).sum())
    return {"real": real, "bogus": bogus, "unknown": int(len(values)) - real - bogus}


def _balance(counts: dict[str, int]) -> dict[str, float]:
    labelled = counts["real"] + counts["bogus"]
    return {
        "real_fraction": counts["real"] / labelled if labelled else float("nan"),
        "bogus_per_real": counts["bogus"] / counts["real"] if counts["real"] else float("nan"),
    }


def summarise_candidates(df: pd.DataFrame) -> dict:
    """Counts of one candidate table (a split or the whole dataset)."""
    counts = _label_counts(df["label"])
    is_real = (pd.to_numeric(df["label"], errors="coerce") == schema.LABEL_REAL).to_numpy(
        dtype=bool, na_value=False
    )
    injected = df["injected"].fillna(False).to_numpy(dtype=bool)
    detected_by = df["detected_by"].astype("string").value_counts()
    out = {
        "n_jobs": int(df["jid"].nunique()),
        "n_candidates": len(df),
        **counts,
        **_balance(counts),
        "real_injected": int((is_real & injected).sum()),
        "real_natural": int((is_real & ~injected).sum()),
        "detected_by": {k: int(detected_by.get(k, 0)) for k in ("zogy", "sfft", "both")},
    }
    for alg in ("zogy", "sfft"):  # each algorithm's own detections and labels (protocol A)
        own = _label_counts(df[f"{alg}_label"].dropna())
        out[f"{alg}_detections"] = {"n": int(df[f"{alg}_label"].notna().sum()), **own, **_balance(own)}
    out["per_filter"] = {
        str(f): {"n": len(part), **_label_counts(part["label"])}
        for f, part in df.groupby(df["filter"].astype("string").fillna("unknown"), sort=True)
    }
    return out


def composition(dataset_dir: str | Path) -> dict:
    """Composition of the whole dataset (``all``) and of each split; also counts failed and truth-less jobs."""
    tables = load_tables(dataset_dir)
    cands = tables.candidates
    out = {"dataset_dir": str(Path(dataset_dir)), "all": summarise_candidates(cands)}
    for split in schema.SPLITS:
        out[split] = summarise_candidates(
            cands[(cands["split"] == split).to_numpy(dtype=bool, na_value=False)]
        )
    jobs = tables.jobs
    status = jobs["status"].astype("string").value_counts()
    out["jobs"] = {
        "n": len(jobs),
        **{f"status_{k}": int(v) for k, v in status.items()},
        "without_truth": int((~jobs["has_truth"].fillna(False).astype(bool)).sum()),
        "per_split": {s: sorted(jobs.loc[jobs["split"] == s, "jid"].astype(str)) for s in schema.SPLITS},
    }
    out["truth"] = {
        "n": len(tables.truth),
        "injected": int(tables.truth["injected"].fillna(False).sum()),
        "bright": int(tables.truth["bright"].fillna(False).sum()),
    }
    return out


def _fmt(value) -> str:
    if isinstance(value, float):
        return "n/a" if not np.isfinite(value) else f"{value:.3f}"
    return str(value)


def format_composition(comp: dict) -> str:
    """A plain-text table: one column per split, one row per quantity."""
    cols = ["all", *schema.SPLITS]
    rows = [
        ("jobs", "n_jobs"),
        ("candidates", "n_candidates"),
        ("real", "real"),
        ("bogus", "bogus"),
        ("unknown", "unknown"),
        ("real fraction", "real_fraction"),
        ("bogus per real", "bogus_per_real"),
        ("real injected", "real_injected"),
        ("real natural (OU)", "real_natural"),
    ]
    table = [(name, [comp[c][key] for c in cols]) for name, key in rows]
    for kind in ("zogy", "sfft", "both"):
        table.append(
            (
                f"detected by {kind}{'' if kind == 'both' else ' only'}",
                [comp[c]["detected_by"][kind] for c in cols],
            )
        )
    for alg in ("zogy", "sfft"):
        table.append(
            (
                f"{alg} detections real/bogus",
                [
                    f"{comp[c][f'{alg}_detections']['real']}/{comp[c][f'{alg}_detections']['bogus']}"
                    for c in cols
                ],
            )
        )
    filters = sorted({f for c in cols for f in comp[c]["per_filter"]})
    for f in filters:
        cells = [comp[c]["per_filter"].get(f, {"n": 0, "real": 0, "bogus": 0}) for c in cols]
        table.append((f"filter {f} n (real/bogus)", [f"{e['n']} ({e['real']}/{e['bogus']})" for e in cells]))
    width = max(len(name) for name, _ in table) + 2
    lines = ["".ljust(width) + "".join(c.rjust(16) for c in cols)]
    lines += [name.ljust(width) + "".join(_fmt(v).rjust(16) for v in values) for name, values in table]
    jobs = comp["jobs"]
    lines.append("")
    lines.append(
        f"jobs: {jobs['n']} ({', '.join(f'{k[7:]} {v}' for k, v in jobs.items() if k.startswith('status_'))}), "
        f"{jobs['without_truth']} without truth; truth sources: {comp['truth']['n']} "
        f"({comp['truth']['injected']} injected)"
    )
    for split, jids in jobs["per_split"].items():
        lines.append(f"  {split}: {', '.join(jids) if jids else '-'}")
    return "\n".join(lines)
