"""Tests of science/fields.py: sky footprints from the WCS, overlap, and fields of overlapping jobs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from astropy.wcs import WCS

from rapid_croissant.science.fields import (
    assign_fields,
    footprint_text,
    footprints_overlap,
    parse_footprint,
)

SCALE = 0.11 / 3600.0


def tan_wcs(ra: float, dec: float, *, rot_deg: float = 0.0) -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra, dec]
    w.wcs.crpix = [257.0, 257.0]
    c, s = np.cos(np.radians(rot_deg)), np.sin(np.radians(rot_deg))
    w.wcs.cd = SCALE * np.array([[-c, s], [s, c]])
    return w


def fp(ra, dec, **kw) -> str:
    return footprint_text(tan_wcs(ra, dec, **kw), (513, 513))


def test_footprint_round_trips_and_has_the_image_size():
    pts = parse_footprint(fp(10.0, -44.0))
    assert pts.shape == (4, 2)
    side = np.hypot((pts[1, 0] - pts[0, 0]) * np.cos(np.radians(-44.0)), pts[1, 1] - pts[0, 1])
    assert abs(side / (513 * SCALE) - 1.0) < 1e-3  # (cos dec differs a little at the corners)
    assert parse_footprint("") is None and parse_footprint("1,2;x") is None
    assert footprint_text(None, (513, 513)) == ""


def test_overlap_is_detected_for_shifted_and_rotated_images_and_not_for_neighbours():
    a = parse_footprint(fp(10.0, -44.0))
    half = 0.5 * 513 * SCALE / np.cos(np.radians(44.0))  # half a footprint in RA
    assert footprints_overlap(a, parse_footprint(fp(10.0 + half, -44.0)))  # half overlap
    assert footprints_overlap(a, parse_footprint(fp(10.0, -44.0, rot_deg=37.0)))  # rotated revisit
    # side by side with a small gap: no shared sky, although circles around them would overlap
    assert not footprints_overlap(a, parse_footprint(fp(10.0 + 2.02 * half, -44.0)))
    assert not footprints_overlap(a, parse_footprint(fp(10.0 + 2.01 * half, -44.0 + 513 * SCALE * 1.01)))
    assert not footprints_overlap(a, parse_footprint(fp(200.0, 30.0)))


def test_fields_are_connected_groups_named_after_their_first_job():
    half = 0.5 * 513 * SCALE / np.cos(np.radians(44.0))
    jobs = pd.DataFrame(
        {
            "jid": ["jid12", "jid3", "jid7", "jid9", "jid20"],
            "footprint": [
                fp(10.0, -44.0),
                fp(10.0 + 1.5 * half, -44.0),  # overlaps jid12 and jid7: bridges them
                fp(10.0 + 3.0 * half, -44.0),
                fp(11.0, -43.0),
                "",  # no WCS: a field of its own
            ],
        }
    )
    fields = assign_fields(jobs)
    assert fields.tolist() == ["sky_jid3", "sky_jid3", "sky_jid3", "sky_jid9", "sky_jid20"]
    # the row order does not matter
    shuffled = jobs.iloc[[4, 2, 0, 3, 1]]
    assert assign_fields(shuffled).to_dict() == fields.to_dict()
