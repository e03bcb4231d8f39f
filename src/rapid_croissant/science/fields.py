"""Sky fields: jobs whose footprints on the sky overlap see the same sky and form one field.

A job's footprint is the quadrilateral of its image corners on the sky (from the WCS), written as text
``"ra,dec;ra,dec;ra,dec;ra,dec"`` (degrees) in the jobs table. Two footprints overlap when their
quadrilaterals, projected on a plane tangent to the sky between them, intersect with a positive area
(separating-axis test on convex polygons). Fields are the connected groups of overlapping jobs; a field
is named after its first job (``sky_<jid>``, lowest job number). Jobs without a footprint (no WCS, failed
jobs) are fields of their own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["assign_fields", "footprint_text", "footprints_overlap", "parse_footprint"]

#: Overlaps thinner than this (in units of the smaller footprint's size) count as touching, not sharing sky.
MIN_OVERLAP = 1e-3


def footprint_text(wcs, shape) -> str:
    """The sky corners of an image of ``shape`` (H, W) with celestial ``wcs``, as 'ra,dec;...' text."""
    if wcs is None or shape is None:
        return ""
    h, w = shape
    xs = np.array([-0.5, w - 0.5, w - 0.5, -0.5])
    ys = np.array([-0.5, -0.5, h - 0.5, h - 0.5])
    try:
        ra, dec = wcs.all_pix2world(xs, ys, 0)
    except Exception:  # noqa: BLE001 - a broken WCS gives no footprint, the job is its own field
        return ""
    if not (np.all(np.isfinite(ra)) and np.all(np.isfinite(dec))):
        return ""
    return ";".join(f"{a:.7f},{d:.7f}" for a, d in zip(ra, dec, strict=True))


def parse_footprint(text) -> np.ndarray | None:
    """(4, 2) array of (ra, dec) degrees from footprint text, or None when empty or malformed."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        pts = np.array([[float(v) for v in p.split(",")] for p in text.split(";")])
    except ValueError:
        return None
    return pts if pts.ndim == 2 and pts.shape[1] == 2 and len(pts) >= 3 else None


def _unit(radec: np.ndarray) -> np.ndarray:
    ra, dec = np.radians(radec[:, 0]), np.radians(radec[:, 1])
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=1)


def _project(radec: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Gnomonic projection of (ra, dec) points onto the plane tangent at unit vector ``centre``."""
    v = _unit(radec)
    east = np.cross([0.0, 0.0, 1.0], centre)
    east = east / np.linalg.norm(east) if np.linalg.norm(east) > 1e-12 else np.array([1.0, 0.0, 0.0])
    north = np.cross(centre, east)
    depth = v @ centre
    return np.stack([(v @ east) / depth, (v @ north) / depth], axis=1)


def _separated(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """True when some edge normal of ``a`` or ``b`` separates the convex polygons (gap or overlap < tol)."""
    for poly in (a, b):
        for i in range(len(poly)):
            edge = poly[(i + 1) % len(poly)] - poly[i]
            axis = np.array([-edge[1], edge[0]])
            norm = np.linalg.norm(axis)
            if norm == 0:
                continue
            axis = axis / norm
            pa, pb = a @ axis, b @ axis
            if min(pa.max(), pb.max()) - max(pa.min(), pb.min()) <= tol:
                return True
    return False


def footprints_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two sky quadrilaterals ((N, 2) ra/dec degrees) share sky."""
    ua, ub = _unit(a).mean(axis=0), _unit(b).mean(axis=0)
    if float(ua @ ub) / (np.linalg.norm(ua) * np.linalg.norm(ub)) < np.cos(np.radians(10.0)):
        return False  # far apart: no projection needed (footprints are arcminutes wide)
    centre = ua + ub
    centre = centre / np.linalg.norm(centre)
    pa, pb = _project(a, centre), _project(b, centre)
    size = min(np.ptp(pa, axis=0).max(), np.ptp(pb, axis=0).max())
    return not _separated(pa, pb, MIN_OVERLAP * size)


def _jid_number(jid: str) -> int:
    digits = str(jid)[3:]
    return int(digits) if digits.isdigit() else 0


def _candidate_pairs(polys: list) -> list[tuple[int, int]]:
    """Pairs of footprints whose centres are close enough to overlap (KD-tree on unit vectors)."""
    from scipy.spatial import cKDTree

    have = [i for i, p in enumerate(polys) if p is not None]
    if len(have) < 2:
        return []
    centres, reach = [], 0.0
    for i in have:
        u = _unit(polys[i])
        c = u.mean(axis=0)
        c = c / np.linalg.norm(c)
        centres.append(c)
        reach = max(reach, float(np.max(np.linalg.norm(u - c, axis=1))))
    pairs = cKDTree(np.array(centres)).query_pairs(2.0 * reach * 1.01 + 1e-12)
    return sorted((have[a], have[b]) for a, b in pairs)


def assign_fields(jobs: pd.DataFrame, *, footprint: str = "footprint") -> pd.Series:
    """Field name of every job (indexed like ``jobs``): connected groups of overlapping footprints."""
    jids = jobs["jid"].astype(str).tolist()
    polys = [
        parse_footprint(t) for t in (jobs[footprint] if footprint in jobs.columns else [None] * len(jobs))
    ]
    parent = list(range(len(jobs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in _candidate_pairs(polys):
        if footprints_overlap(polys[i], polys[j]):
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(jobs)):
        groups.setdefault(root(i), []).append(i)
    names = [""] * len(jobs)
    for members in groups.values():
        first = min(members, key=lambda k: (_jid_number(jids[k]), jids[k]))
        for k in members:
            names[k] = f"sky_{jids[first]}"
    return pd.Series(names, index=jobs.index, dtype="string", name="field")
