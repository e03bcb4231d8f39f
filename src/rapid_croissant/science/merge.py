"""Merge the ZOGY and SFFT detection catalogs of one job into candidates, by position.

The two catalogs come from independent photutils runs on different difference images and number
their rows 1..N independently, so ZOGY id k and SFFT id k are unrelated (rapid_formats.md §0, §3.3;
the seed's merge on ``id`` is defect §9 item 1). Both live on the science pixel grid, so positions
compare directly: a ZOGY and an SFFT detection are one candidate when each is the other's nearest
neighbour and they lie within the radius (~1 px; RAPID itself cross-matches at 0.5 px).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rapid_croissant.science.matching import as_positions, check_radius, pairs_within

__all__ = ["MergeResult", "merge_by_position"]


@dataclass(frozen=True)
class MergeResult:
    """One row per candidate: ZOGY-detected rows in ZOGY order, then SFFT-only rows in SFFT order."""

    zogy_index: np.ndarray  # int64, -1 where the candidate has no ZOGY detection
    sfft_index: np.ndarray  # int64, -1 where the candidate has no SFFT detection
    distance: np.ndarray  # float64 pixels between the two detections, NaN unless both

    def __len__(self) -> int:
        return int(self.zogy_index.size)


def _nearest_partner(a: np.ndarray, b: np.ndarray, d: np.ndarray, n: int) -> np.ndarray:
    """For each of ``n`` rows on side ``a``: the pair row of its nearest partner, or -1.

    Ties in distance go to the lower partner index, so the result does not depend on tree internals.
    """
    best = np.full(n, -1, dtype=np.int64)
    if a.size:
        order = np.lexsort((b, d, a))
        first = np.r_[True, a[order][1:] != a[order][:-1]]
        best[a[order][first]] = order[first]
    return best


def merge_by_position(zogy_xy: np.ndarray, sfft_xy: np.ndarray, *, radius: float) -> MergeResult:
    """Merge ZOGY and SFFT detections that are mutual nearest neighbours within ``radius`` pixels.

    Every input row appears exactly once in the output; unpaired detections are their own candidates.
    """
    zogy = as_positions(zogy_xy, name="zogy_xy")
    sfft = as_positions(sfft_xy, name="sfft_xy")
    r = check_radius(radius)
    n_zogy, n_sfft = zogy.shape[0], sfft.shape[0]
    # A nearest neighbour farther than the radius cannot pair, so the pairs within the radius decide.
    zi, si, d = pairs_within(zogy, sfft, r)
    zogy_best = _nearest_partner(zi, si, d, n_zogy)
    sfft_best = _nearest_partner(si, zi, d, n_sfft)

    partner = np.full(n_zogy, -1, dtype=np.int64)
    distance = np.full(n_zogy, np.nan, dtype=np.float64)
    has = zogy_best >= 0
    rows = zogy_best[has]
    mutual = sfft_best[si[rows]] == rows
    z_merged = np.flatnonzero(has)[mutual]
    partner[z_merged] = si[rows[mutual]]
    distance[z_merged] = d[rows[mutual]]

    sfft_only = np.setdiff1d(np.arange(n_sfft, dtype=np.int64), partner[partner >= 0])
    return MergeResult(
        zogy_index=np.concatenate([np.arange(n_zogy, dtype=np.int64), np.full(sfft_only.size, -1, np.int64)]),
        sfft_index=np.concatenate([partner, sfft_only]),
        distance=np.concatenate([distance, np.full(sfft_only.size, np.nan)]),
    )
