"""RAPID's figure-of-merit quantities with job-bootstrap intervals (ml/fom.py), on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from rapid_croissant.ml.fom import PUBLISHED, completeness_summary, false_positive_summary

EDGES = np.array([21.0, 22.0, 23.0, 24.0])


def _job(jid: str, detected_fraction=(1.0, 0.5, 0.0), per_bin: int = 4):
    mag, det = [], []
    for b, frac in enumerate(detected_fraction):
        mag += [21.5 + b] * per_bin
        det += [k < frac * per_bin for k in range(per_bin)]
    return np.array(mag), np.array(det), np.array([jid] * len(mag))


def _jobs(*parts):
    return tuple(np.concatenate(x) for x in zip(*parts, strict=True))


def test_m50_m80_m20_interpolate_between_bin_centres_and_identical_jobs_give_a_zero_width_interval():
    mag, det, jids = _jobs(_job("a"), _job("b"))
    out = completeness_summary(mag, det, jids, EDGES, n_boot=200, seed=1)
    assert (out["n_truth"], out["n_detected"], out["n_jobs"]) == (24, 12, 2)
    for name, expected in (("m80", 21.9), ("m50", 22.5), ("m20", 23.1)):
        entry = out[name]
        assert entry["value"] == pytest.approx(expected)
        assert entry["low"] == pytest.approx(expected) and entry["high"] == pytest.approx(expected)
        assert "reason" not in entry
    assert out["curve"]["completeness"] == pytest.approx([1.0, 0.5, 0.0])
    assert all(
        lo <= c <= hi
        for lo, c, hi in zip(out["curve"]["low"], [1, 0.5, 0], out["curve"]["high"], strict=True)
    )


def test_different_jobs_give_an_interval_around_the_value():
    mag, det, jids = _jobs(
        _job("a", (1.0, 1.0, 0.0)), _job("b", (1.0, 0.25, 0.0)), _job("c", (0.75, 0.5, 0.0))
    )
    out = completeness_summary(mag, det, jids, EDGES, n_boot=500, seed=0)
    m50 = out["m50"]
    assert m50["low"] <= m50["value"] <= m50["high"] and m50["high"] > m50["low"]


@pytest.mark.parametrize(
    ("fractions", "reason"),
    [
        ((1.0, 1.0, 1.0), "stays at or above 80% down to the faintest bin (23.50 mag)"),
        ((0.5, 0.25, 0.0), "is below 80% already in the brightest bin (21.50 mag: 0.50)"),
    ],
)
def test_a_magnitude_that_cannot_be_measured_is_nan_with_its_reason(fractions, reason):
    mag, det, jids = _job("a", fractions)
    out = completeness_summary(mag, det, jids, EDGES, n_boot=50)
    assert np.isnan(out["m80"]["value"]) and out["m80"]["reason"] == f"completeness {reason}"


def test_false_positives_per_image_and_m_th():
    # image a: 30 bogus at 20.05, 20.15, ...; image b: none. 10 per image (20 in a) is reached at 22.0.
    mags = 20.05 + 0.1 * np.arange(30)
    out = false_positive_summary(mags, ["a"] * 30, ["a", "b"], n_boot=300, seed=2)
    assert out["n_images"] == 2 and out["per_job"] == {"a": 30, "b": 0}
    assert out["fp_per_image"]["value"] == pytest.approx(15.0)
    assert out["fp_per_image"]["low"] == pytest.approx(0.0) and out["fp_per_image"]["high"] == pytest.approx(
        30.0
    )
    # cumulative per image: 9 at 21.8 (18 in a / 2), 10 at 22.0 (20 / 2)
    assert out["m_th_10"]["value"] == pytest.approx(22.0)
    one = false_positive_summary(mags, ["a"] * 30, ["a"], n_boot=50)
    assert one["m_th_10"]["value"] == pytest.approx(21.0)  # 10 bogus up to 20.95 in the one image


def test_m_th_never_reached_has_a_reason():
    out = false_positive_summary([22.0, 23.0], ["a", "a"], ["a", "b"], n_boot=50)
    assert out["fp_per_image"]["value"] == pytest.approx(1.0)
    assert (
        np.isnan(out["m_th_10"]["value"])
        and "fewer than 10 false positives per image" in out["m_th_10"]["reason"]
    )


def test_published_values_are_rapids():
    assert PUBLISHED["zogy"]["fom"] == 24.68 and PUBLISHED["sfft"]["fom"] == 25.38
