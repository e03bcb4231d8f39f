"""Tables of a built dataset, the candidate selection of each evaluation protocol, and the feature matrix.

Protocols follow docs ml_evaluation.md §4.5: A (native) gives each algorithm its own detections and labels;
B (matched) keeps only candidates detected by both. Unknown labels (-1 or missing) are never used for
training or metrics. Feature scaling statistics are fitted on the training rows only and then reused.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.config import PROTOCOLS
from rapid_croissant.dataset import Tables, open_dataset, roles, schema
from rapid_croissant.errors import RapidCroissantError

__all__ = [
    "FEATURES",
    "PROTOCOLS",
    "Tables",
    "check_split_by_job",
    "feature_matrix",
    "hold_out_jobs",
    "load_tables",
    "select_candidates",
    "split_rows",
    "write_json",
]

log = logging.getLogger(__name__)

#: Per-algorithm features (``<alg>_<name>`` columns), from the column roles (dataset/roles.py: never a
#: label-derived column); ``npix`` is a constant of the finder and is left out.
FEATURES = tuple(f for f in roles.per_algorithm_features() if f != "npix")
#: Flux-like features with heavy tails, compressed with a sign-preserving asinh before scaling.
HEAVY_TAILED = frozenset({"peak", "flux", "flux_fit", "flux_err", "snr", "qfit", "cfit", "reduced_chi2"})
#: Scaled features are clipped to this many IQRs so a single extreme row cannot dominate a network.
_CLIP = 20.0


def load_tables(dataset_dir: str | Path) -> Tables:
    """Candidates, jobs and truth of a dataset (read through :func:`rapid_croissant.dataset.open_dataset`)."""
    return open_dataset(dataset_dir).tables


def check_split_by_job(candidates: pd.DataFrame) -> None:
    """Raise when a job has candidates in more than one split (a leaky, candidate-level split)."""
    n_splits = candidates.groupby("jid", observed=True)["split"].nunique()
    leaky = sorted(n_splits[n_splits > 1].index.astype(str))
    if leaky:
        raise RapidCroissantError(f"candidates: jobs {leaky[:5]} appear in more than one split")


def _check_choice(value: str, name: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def select_candidates(
    df: pd.DataFrame, *, algorithm: str, protocol: str = "A", labelled_only: bool = True
) -> pd.DataFrame:
    """Labelled candidates of one algorithm under a protocol, with ``target`` (0/1), ``cx`` and ``cy`` added.

    A: zogy/sfft keep rows that algorithm detected, with its own label and position; both keeps every row
    with the merged label and position. B: only rows detected by both, each algorithm its own label.
    ``labelled_only=False`` (scoring) also keeps unknown labels, with ``target`` -1.
    """
    _check_choice(algorithm, "algorithm", schema.CANDIDATE_SETS)
    _check_choice(protocol, "protocol", PROTOCOLS)
    detected_by = df["detected_by"].astype("string")
    if protocol == "B":
        keep = detected_by == "both"
    elif algorithm == "both":
        keep = detected_by.notna()
    else:
        keep = detected_by.isin([algorithm, "both"])
    label_col, xcol, ycol = (
        ("label", "x", "y")
        if algorithm == "both"
        else (f"{algorithm}_label",) + tuple(f"{algorithm}_{c}" for c in ("x", "y"))
    )
    label = pd.to_numeric(df[label_col], errors="coerce")
    if labelled_only:
        keep &= label.isin([schema.LABEL_REAL, schema.LABEL_BOGUS]).fillna(False)
    else:
        label = label.fillna(schema.LABEL_UNKNOWN)
    out = df[keep.to_numpy(dtype=bool)].copy()
    out["target"] = label[keep.to_numpy(dtype=bool)].astype(np.int64).to_numpy()
    out["cx"] = out[xcol].astype(float)
    out["cy"] = out[ycol].astype(float)
    bad = ~np.isfinite(out["cx"]) | ~np.isfinite(out["cy"])
    if bad.any():
        log.warning("dropping %d %s candidates without a position", int(bad.sum()), algorithm)
        out = out[~bad]
    return out.reset_index(drop=True)


def split_rows(df: pd.DataFrame, split: str) -> pd.DataFrame:
    """Rows of one split (train, val or test), re-indexed from 0."""
    _check_choice(split, "split", schema.SPLITS)
    return df[(df["split"] == split).to_numpy(dtype=bool)].reset_index(drop=True)


def hold_out_jobs(
    rows: pd.DataFrame, *, fraction: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``rows`` by job into (kept, held out): a seeded ``fraction`` of the jobs, at least one.

    Used for validation when the val split has no usable labels (e.g. its only job has no truth). Jobs
    holding both classes are preferred so the held-out part can choose a threshold.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must lie strictly between 0 and 1, got {fraction}")
    jids = rows["jid"].astype(str)
    n_classes = rows.groupby(jids.to_numpy())["target"].nunique()
    if len(n_classes) < 2:
        raise RapidCroissantError(f"rows: {len(n_classes)} job(s), cannot hold out a validation job")
    rng = np.random.default_rng(seed)
    order = sorted(n_classes.index, key=lambda j: (-n_classes[j], rng.random()))
    mixed = int((n_classes == 2).sum())
    n_out = max(1, round(fraction * len(order)))
    chosen = rng.permutation(order[: max(mixed, n_out)])[:n_out]  # draw among mixed jobs first
    held = jids.isin(set(chosen)).to_numpy()
    return rows[~held].reset_index(drop=True), rows[held].reset_index(drop=True)


def _algorithms_of(algorithm: str) -> tuple[str, ...]:
    _check_choice(algorithm, "algorithm", schema.CANDIDATE_SETS)
    return ("zogy", "sfft") if algorithm == "both" else (algorithm,)


def _raw_features(df: pd.DataFrame, algorithm: str) -> pd.DataFrame:
    """Transformed (asinh on heavy tails) feature columns plus a ``<alg>_missing`` 0/1 column per
    algorithm."""
    cols = {}
    for alg in _algorithms_of(algorithm):
        detected = df["detected_by"].astype("string").isin([alg, "both"]).fillna(False).to_numpy(dtype=bool)
        for name in FEATURES:
            col = f"{alg}_{name}"
            values = (
                pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                if col in df
                else np.full(len(df), np.nan)
            )
            values = np.where(np.isfinite(values), values, np.nan)
            cols[col] = np.arcsinh(values) if name in HEAVY_TAILED else values
        cols[f"{alg}_missing"] = (~detected).astype(float)
    return pd.DataFrame(cols, index=df.index)


def _fit_stats(raw: pd.DataFrame, names: list[str] | None = None) -> dict:
    """Median and IQR (std when the IQR is 0) of each feature; columns constant or empty on train are
    dropped, unless ``names`` fixes the columns (a pretrained network's layout): then such a column is
    kept, centred on its value (0 when empty) with scale 1."""
    fixed = names is not None
    columns = list(raw.columns) if names is None else list(names)
    unknown = [n for n in columns if n not in raw.columns]
    if unknown:
        raise RapidCroissantError(f"feature layout: columns {unknown[:3]} are not features of this data")
    names, center, scale = [], {}, {}
    for col in columns:
        values = raw[col].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        constant = values.size == 0 or values.min() == values.max()
        if constant and not fixed:
            continue
        if col.endswith("_missing"):  # 0/1 indicators stay 0/1
            q50, spread = 0.0, 1.0
        elif constant:
            q50, spread = (float(values[0]) if values.size else 0.0), 1.0
        else:
            q25, q50, q75 = np.percentile(values, [25, 50, 75])
            spread = q75 - q25 if q75 > q25 else float(np.std(values))
        names.append(col)
        center[col], scale[col] = float(q50), float(spread)
    if not names:
        raise ValueError("df: no feature varies on the training rows")
    return {"method": "median/iqr", "names": names, "center": center, "scale": scale, "clip": _CLIP}


def _uses_both(algorithm: str, stats: dict | None, cross: bool) -> bool:
    """Whether the features come from both algorithms: asked for (``cross``), or fitted that way."""
    if cross or algorithm == "both":
        return True
    if stats is None:
        return False
    own = [n.startswith(f"{algorithm}_") for n in stats["names"]]
    return any(own) and not all(own)  # fitted with cross features (another algorithm's stats stay an error)


def feature_matrix(
    df: pd.DataFrame,
    *,
    algorithm: str,
    stats: dict | None = None,
    names: list[str] | None = None,
    cross: bool = False,
) -> tuple[np.ndarray, list[str], dict]:
    """float32 feature matrix of ``df`` scaled with ``stats`` (fitted on ``df`` when None: pass train rows;
    ``names`` then fixes the columns and their order, as a pretrained network needs).

    Missing values (the algorithm did not detect the candidate, or a failed fit) become 0, the training
    median, and a ``<alg>_missing`` indicator column says which algorithm did not detect it. ``cross``
    (when fitting) adds the other algorithm's features of the same candidate (both pipelines run on every
    job, so they exist at prediction time); ``stats`` fitted that way bring them back by themselves.
    """
    raw = _raw_features(df, "both" if _uses_both(algorithm, stats, cross) else algorithm)
    if stats is None:
        stats = _fit_stats(raw, names)
    names = list(stats["names"])
    unknown = [n for n in names if n not in raw.columns]
    if unknown:
        raise ValueError(f"stats: features {unknown} do not belong to algorithm {algorithm!r}")
    X = np.empty((len(df), len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        values = (raw[name].to_numpy(dtype=float) - stats["center"][name]) / stats["scale"][name]
        X[:, j] = np.clip(np.nan_to_num(values, nan=0.0), -stats["clip"], stats["clip"])
    return X, names, stats


def _json_ready(obj):
    if isinstance(obj, dict):
        return {str(k): _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_ready(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # strict JSON has no NaN/inf: undefined metrics are written as null
    return obj


def write_json(path: str | Path, obj) -> None:
    """Write ``obj`` as indented strict JSON (NaN and inf become null)."""
    Path(path).write_text(json.dumps(_json_ready(obj), indent=2, allow_nan=False) + "\n")
