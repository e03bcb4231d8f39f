"""One-to-one positional matching of detections to truth sources.

The seed let each truth row mark its nearest detection within 4 px, and later truth rows overwrote
earlier marks (rapid_formats.md §9 item 4). Here all pairs within the radius are ranked by distance and
accepted closest first, so each detection and each truth source is used at most once and the closest
pair always wins. Positions must share one pixel origin (truth is 1-based, photutils 0-based: §0, §9 item 3);
converting them is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

__all__ = [
    "MatchResult",
    "as_positions",
    "check_radius",
    "match_one_to_one",
    "nearest_within",
    "pairs_within",
]


@dataclass(frozen=True)
class MatchResult:
    """Matched pairs, one row per pair, sorted by ``det_index``."""

    det_index: np.ndarray  # int64, index into the detections
    truth_index: np.ndarray  # int64, index into the truth sources
    distance: np.ndarray  # float64, pixels

    def __len__(self) -> int:
        return int(self.det_index.size)


def as_positions(xy: np.ndarray, *, name: str) -> np.ndarray:
    """``xy`` as a float64 (N, 2) array; an empty input of any shape gives (0, 2)."""
    arr = np.asarray(xy, dtype=np.float64)
    if arr.size == 0:
        return np.empty((0, 2), dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2), got {arr.shape}")
    return arr


def check_radius(radius: float) -> float:
    """The radius as a float, which must be finite and positive."""
    r = float(radius)
    if not (np.isfinite(r) and r > 0):
        raise ValueError(f"radius must be a finite positive number of pixels, got {radius!r}")
    return r


def pairs_within(
    a_xy: np.ndarray, b_xy: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (i, j, distance) with ``|a_i - b_j| <= radius``; rows with a non-finite position never pair."""
    a_ok = np.flatnonzero(np.isfinite(a_xy).all(axis=1))
    b_ok = np.flatnonzero(np.isfinite(b_xy).all(axis=1))
    if a_ok.size == 0 or b_ok.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    tree_a, tree_b = cKDTree(a_xy[a_ok]), cKDTree(b_xy[b_ok])
    # Query slightly wide, then apply the inclusive cut with one distance formula for every pair.
    found = tree_a.sparse_distance_matrix(tree_b, radius * (1 + 1e-9), output_type="ndarray")
    i = a_ok[found["i"]].astype(np.int64)
    j = b_ok[found["j"]].astype(np.int64)
    d = np.hypot(a_xy[i, 0] - b_xy[j, 0], a_xy[i, 1] - b_xy[j, 1])
    keep = d <= radius
    return i[keep], j[keep], d[keep]


def match_one_to_one(det_xy: np.ndarray, truth_xy: np.ndarray, *, radius: float) -> MatchResult:
    """Greedy closest-first one-to-one matching of detections to truth within ``radius`` pixels.

    Ties in distance are broken by detection index, then truth index, so the result is deterministic.
    """
    det = as_positions(det_xy, name="det_xy")
    truth = as_positions(truth_xy, name="truth_xy")
    r = check_radius(radius)
    i, j, d = pairs_within(det, truth, r)
    order = np.lexsort((j, i, d))  # last key is primary: distance, then det, then truth
    det_used = np.zeros(det.shape[0], dtype=bool)
    truth_used = np.zeros(truth.shape[0], dtype=bool)
    accepted = []
    for k in order:
        if not det_used[i[k]] and not truth_used[j[k]]:
            det_used[i[k]] = truth_used[j[k]] = True
            accepted.append(k)
    accepted = np.asarray(accepted, dtype=np.int64)
    accepted = accepted[np.argsort(i[accepted], kind="stable")]
    return MatchResult(det_index=i[accepted], truth_index=j[accepted], distance=d[accepted])


def nearest_within(
    det_xy: np.ndarray, truth_xy: np.ndarray, *, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """For each detection, the nearest truth index within ``radius`` (-1 if none) and its distance (NaN).

    Not one-to-one: used to flag unmatched detections that sit near truth too faint to be eligible.
    Equidistant truth sources resolve to the lowest truth index.
    """
    det = as_positions(det_xy, name="det_xy")
    truth = as_positions(truth_xy, name="truth_xy")
    r = check_radius(radius)
    index = np.full(det.shape[0], -1, dtype=np.int64)
    distance = np.full(det.shape[0], np.nan, dtype=np.float64)
    i, j, d = pairs_within(det, truth, r)
    if i.size:
        order = np.lexsort((j, d, i))  # per detection: closest first, then lowest truth index
        i, j, d = i[order], j[order], d[order]
        first = np.r_[True, i[1:] != i[:-1]]
        index[i[first]] = j[first]
        distance[i[first]] = d[first]
    return index, distance
