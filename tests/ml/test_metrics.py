"""Tests for ml.metrics (classifier metrics, bootstraps) and ml.completeness (FOM curves)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    matthews_corrcoef,
    roc_auc_score,
)

from rapid_croissant.ml.completeness import (
    completeness_curve,
    false_positives_per_image,
    magnitude_at_completeness,
    magnitude_at_fp_rate,
)
from rapid_croissant.ml.metrics import (
    LOWER_IS_BETTER,
    METRIC_NAMES,
    _Presorted,
    choose_threshold,
    classification_metrics,
    expected_calibration_error,
    fpr_at_fnr,
    group_bootstrap,
    mdr_at_fpr,
    paired_group_bootstrap,
    threshold_for_fnr,
)

EXPECTED_KEYS = {*METRIC_NAMES, "n", "n_pos", "n_neg", "threshold"}

# Hand-built example: 4 reals and 5 bogus, no tied scores.
HAND_POS = [0.9, 0.8, 0.6, 0.3]
HAND_NEG = [0.7, 0.5, 0.4, 0.2, 0.1]
HAND_Y = np.r_[np.ones(4, int), np.zeros(5, int)]
HAND_S = np.r_[HAND_POS, HAND_NEG]


def make_scores(n, *, seed, separation=1.5, prevalence=0.3, decimals=2):
    """Labels and probabilities with a tunable class separation; rounding creates tied scores."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    s = 1.0 / (1.0 + np.exp(-(rng.normal(size=n) + separation * (2 * y - 1))))
    return y, np.round(s, decimals)


def make_grouped(n_groups, rows_per_group, *, seed, group_sd=1.5):
    """Grouped data with a strong per-group score offset, so rows within a group are correlated."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_groups), rows_per_group)
    y = (rng.random(groups.size) < 0.4).astype(int)
    logit = 1.5 * (2 * y - 1) + rng.normal(0, group_sd, n_groups)[groups] * (2 * y - 1)
    logit += rng.normal(0, 0.5, groups.size)
    return y, 1.0 / (1.0 + np.exp(-logit)), groups


# --- agreement with scikit-learn -------------------------------------------------------------------------


def test_classification_metrics_agree_with_sklearn():
    y, s = make_scores(500, seed=1)
    got = classification_metrics(y, s, threshold=0.4)
    assert set(got) == EXPECTED_KEYS
    pred = s >= 0.4
    assert got["roc_auc"] == roc_auc_score(y, s)
    assert got["average_precision"] == average_precision_score(y, s)
    assert got["mcc"] == matthews_corrcoef(y, pred)
    assert got["f1"] == f1_score(y, pred)
    assert got["brier"] == brier_score_loss(y, s)
    assert (got["n"], got["n_pos"], got["n_neg"], got["threshold"]) == (500, y.sum(), 500 - y.sum(), 0.4)
    assert got["fpr_at_fnr_5pct"] == fpr_at_fnr(y, s, fnr=0.05)
    assert got["mdr_at_fpr_1pct"] == mdr_at_fpr(y, s, fpr=0.01)
    assert got["ece"] == expected_calibration_error(y, s)


def test_classification_metrics_rejects_bad_input():
    with pytest.raises(ValueError, match="y_true"):
        classification_metrics([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="score"):
        classification_metrics([0, 1, 1], [0.1, 1.2, 0.3])
    with pytest.raises(ValueError, match="equal length"):
        classification_metrics([0, 1], [0.1, 0.2, 0.3])


# --- operating points ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fnr", "expected"),
    [
        # FNR <= 0 (or 0.1 < 1/4): all 4 reals kept -> threshold 0.3 -> bogus 0.7, 0.5, 0.4 pass: FPR 3/5.
        (0.0, 0.6),
        (0.1, 0.6),
        # FNR <= 0.25: one real may be lost -> largest such threshold 0.6 -> only bogus 0.7 passes: FPR 1/5.
        (0.25, 0.2),
        # FNR <= 0.5: threshold 0.8 keeps reals 0.9, 0.8 and no bogus: FPR 0.
        (0.5, 0.0),
    ],
)
def test_fpr_at_fnr_hand_example(fnr, expected):
    assert fpr_at_fnr(HAND_Y, HAND_S, fnr=fnr) == pytest.approx(expected)


def test_threshold_for_fnr_hand_example():
    assert threshold_for_fnr(HAND_Y, HAND_S, fnr=0.25) == 0.6
    assert threshold_for_fnr(HAND_Y, HAND_S, fnr=0.0) == 0.3


@pytest.mark.parametrize(
    ("fpr", "expected"),
    [
        # FPR <= 0: the most permissive threshold passing no bogus is 0.8 -> reals 0.6, 0.3 missed: MDR 2/4.
        (0.0, 0.5),
        # FPR <= 0.2 (one bogus): threshold 0.6 (bogus 0.7 passes) -> real 0.3 missed: MDR 1/4.
        (0.2, 0.25),
        # FPR <= 0.4: threshold 0.5 admits two bogus but no further real: still MDR 1/4.
        (0.4, 0.25),
        # FPR <= 0.6: threshold 0.3 -> every real kept: MDR 0.
        (0.6, 0.0),
    ],
)
def test_mdr_at_fpr_hand_example(fpr, expected):
    assert mdr_at_fpr(HAND_Y, HAND_S, fpr=fpr) == pytest.approx(expected)


def test_fnr_of_exactly_one_percent_is_allowed():
    # 100 reals scored 0.01..1.00, 100 bogus scored 0.005..0.995 (interleaved). FNR 1 % allows missing the
    # weakest real exactly (1 - 99/100 is not exactly 0.01 in floating point): threshold 0.02.
    y = np.r_[np.ones(100, int), np.zeros(100, int)]
    s = np.r_[np.arange(1, 101) / 100, np.arange(1, 101) / 100 - 0.005]
    assert threshold_for_fnr(y, s, fnr=0.01) == pytest.approx(0.02)
    # bogus at >= 0.02 are 0.025 .. 0.995: 98 of 100
    assert fpr_at_fnr(y, s, fnr=0.01) == pytest.approx(0.98)


def test_fpr_at_fnr_decreases_as_fnr_grows():
    y, s = make_scores(2000, seed=2, separation=1.0)
    fnrs = np.linspace(0.0, 0.6, 31)
    fprs = np.array([fpr_at_fnr(y, s, fnr=f) for f in fnrs])
    assert np.all(np.diff(fprs) <= 0)
    assert fprs[0] > fprs[-1] + 0.3
    mdrs = np.array([mdr_at_fpr(y, s, fpr=f) for f in fnrs])
    assert np.all(np.diff(mdrs) <= 0)


def test_rates_out_of_range_raise():
    with pytest.raises(ValueError, match="fnr"):
        fpr_at_fnr(HAND_Y, HAND_S, fnr=1.5)
    with pytest.raises(ValueError, match="fpr"):
        mdr_at_fpr(HAND_Y, HAND_S, fpr=-0.1)


# --- calibration -----------------------------------------------------------------------------------------


def test_ece_zero_when_each_bin_is_calibrated():
    # p = 0.25 with 1 real in 4; p = 0.7 with 7 reals in 10: every bin's real fraction equals its probability.
    y = np.r_[1, 0, 0, 0, np.ones(7, int), np.zeros(3, int)]
    p = np.r_[np.full(4, 0.25), np.full(10, 0.7)]
    assert expected_calibration_error(y, p, n_bins=10) == pytest.approx(0.0, abs=1e-12)


def test_ece_hand_example():
    # 5 bins of width 0.2. Bin [0, 0.2): p 0.1, 0.1, reals 1/2 -> |0.5 - 0.1| * 2/5 = 0.16.
    # Bin [0.6, 0.8): p 0.65, no real -> 0.65 * 1/5 = 0.13. Bin [0.8, 1]: p 0.9, 0.9, both real -> 0.1 *
    # 2/5 = 0.04.
    y = [1, 0, 1, 1, 0]
    p = [0.1, 0.1, 0.9, 0.9, 0.65]
    assert expected_calibration_error(y, p, n_bins=5) == pytest.approx(0.33)
    # one bin: |mean(y) - mean(p)| = |0.6 - 0.53|
    assert expected_calibration_error(y, p, n_bins=1) == pytest.approx(0.07)
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error(y, p, n_bins=0)


# --- degenerate input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", [0, 1])
def test_single_class_gives_nan_without_warnings(label):
    y = np.full(20, label)
    s = np.linspace(0.05, 0.95, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = classification_metrics(y, s)
        assert np.isnan(fpr_at_fnr(y, s, fnr=0.05))
        assert np.isnan(mdr_at_fpr(y, s, fpr=0.01))
    for key in (
        "roc_auc",
        "average_precision",
        "fpr_at_fnr_1pct",
        "fpr_at_fnr_5pct",
        "mdr_at_fpr_1pct",
        "mcc",
    ):
        assert np.isnan(got[key]), key
    # calibration is still defined with one class
    assert got["brier"] == pytest.approx(np.mean((s - label) ** 2))
    assert got["ece"] >= 0
    assert got["n_pos"] == 20 * label


def test_f1_is_nan_when_nothing_is_real_or_predicted_real():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = classification_metrics([0, 0, 0], [0.1, 0.2, 0.3], threshold=0.5)
    assert np.isnan(got["f1"])
    assert got["brier"] == pytest.approx((0.01 + 0.04 + 0.09) / 3)


def test_empty_input_gives_nan():
    got = classification_metrics([], [])
    assert got["n"] == 0
    assert all(np.isnan(got[k]) for k in METRIC_NAMES)


# --- threshold choice ------------------------------------------------------------------------------------


def test_choose_threshold_f1_maximises_f1():
    y, s = make_scores(400, seed=3, separation=0.8)
    t = choose_threshold(y, s, rule="f1")
    best = max(f1_score(y, s >= u) for u in np.unique(s))
    assert classification_metrics(y, s, threshold=t)["f1"] == pytest.approx(best)


def test_choose_threshold_fnr5():
    y, s = make_scores(400, seed=4)
    t = choose_threshold(y, s, rule="fnr5")
    missed = np.mean(s[y == 1] < t)
    assert missed <= 0.05
    # a slightly higher threshold would miss more than 5 %
    assert np.mean(s[y == 1] < np.min(s[s > t])) > 0.05
    with pytest.raises(ValueError, match="rule"):
        choose_threshold(y, s, rule="youden")
    with pytest.raises(ValueError, match="y_true"):
        choose_threshold(np.zeros(5, int), np.linspace(0, 1, 5))


# --- group bootstrap -------------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0.4, 1.5])
def test_presorted_weights_match_repeated_rows(threshold):
    # The fast bootstrap path must equal classification_metrics on explicitly repeated rows (ties included);
    # threshold 1.5 predicts nothing real, where sklearn sets MCC to 0 and F1 is undefined.
    y, s = make_scores(300, seed=5, decimals=1)
    groups = np.arange(300) % 17
    data = _Presorted(y, s, groups)
    rng = np.random.default_rng(0)
    for _ in range(5):
        counts = rng.integers(0, 3, 17)
        rows = np.repeat(np.arange(300), counts[groups])
        want = classification_metrics(y[rows], s[rows], threshold=threshold)
        got = data.metrics(counts, threshold=threshold)
        for key in EXPECTED_KEYS:
            assert got[key] == pytest.approx(want[key], rel=1e-12, abs=1e-12, nan_ok=True), key


def test_fast_and_generic_bootstrap_paths_agree():
    y, s, g = make_grouped(12, 15, seed=6)

    def wrapped(yy, ss, **kw):  # not `classification_metrics` itself, so the generic path runs
        return classification_metrics(yy, ss, **kw)

    fast = group_bootstrap(y, s, g, n_boot=60, seed=3, threshold=0.6)
    slow = group_bootstrap(y, s, g, metric_fn=wrapped, n_boot=60, seed=3, threshold=0.6)
    for key in fast:
        for field in ("value", "low", "high", "n_boot_valid"):
            assert fast[key][field] == pytest.approx(slow[key][field], abs=1e-12, nan_ok=True), (key, field)


def test_group_bootstrap_interval_contains_point_estimate():
    y, s, g = make_grouped(40, 25, seed=7)
    res = group_bootstrap(y, s, g, n_boot=300, seed=1)
    assert set(res) == EXPECTED_KEYS
    for key in ("roc_auc", "average_precision", "fpr_at_fnr_5pct", "mcc", "brier"):
        assert res[key]["low"] <= res[key]["value"] <= res[key]["high"], key
        assert res[key]["low"] < res[key]["high"], key
        assert res[key]["n_boot_valid"] == 300
    assert res["roc_auc"]["value"] == roc_auc_score(y, s)


def test_group_bootstrap_narrows_with_more_groups():
    few = group_bootstrap(*make_grouped(10, 20, seed=8), n_boot=300, seed=2)["roc_auc"]
    many = group_bootstrap(*make_grouped(160, 20, seed=8), n_boot=300, seed=2)["roc_auc"]
    # the width should shrink roughly like 1/sqrt(n_groups), i.e. 4x here
    assert (many["high"] - many["low"]) < 0.5 * (few["high"] - few["low"])


def test_group_bootstrap_wider_than_row_bootstrap_for_correlated_rows():
    y, s, g = make_grouped(20, 50, seed=9, group_sd=2.0)
    grouped = group_bootstrap(y, s, g, n_boot=300, seed=4)["roc_auc"]
    naive = group_bootstrap(y, s, np.arange(y.size), n_boot=300, seed=4)["roc_auc"]
    assert grouped["value"] == naive["value"]
    assert (grouped["high"] - grouped["low"]) > 2 * (naive["high"] - naive["low"])


def test_group_bootstrap_skips_single_class_resamples_without_warning():
    # Three single-class groups: some resamples draw only one class, so AUC is undefined there.
    y = np.r_[np.ones(5, int), np.zeros(5, int), np.zeros(5, int)]
    s = np.linspace(0.9, 0.1, 15)
    g = np.repeat(["a", "b", "c"], 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = group_bootstrap(y, s, g, n_boot=200, seed=0)
    assert 0 < res["roc_auc"]["n_boot_valid"] < 200
    assert res["brier"]["n_boot_valid"] == 200
    assert res["roc_auc"]["low"] == res["roc_auc"]["high"] == 1.0


def test_group_bootstrap_validates_arguments():
    y, s = make_scores(20, seed=10)
    with pytest.raises(ValueError, match="n_boot"):
        group_bootstrap(y, s, np.zeros(20), n_boot=0)
    with pytest.raises(ValueError, match="ci"):
        group_bootstrap(y, s, np.zeros(20), ci=95)
    with pytest.raises(ValueError, match="groups"):
        group_bootstrap(y, s, np.zeros(19))


# --- paired bootstrap ------------------------------------------------------------------------------------


def test_paired_bootstrap_better_scorer_beats_random():
    y, s, g = make_grouped(30, 30, seed=11, group_sd=0.3)
    random = np.random.default_rng(0).random(y.size)
    res = paired_group_bootstrap(y, s, g, y, random, g, metric="roc_auc", n_boot=300, seed=0)
    assert {"a", "b", "diff", "low", "high", "p_a_better"} <= set(res)
    assert res["diff"] == pytest.approx(res["a"] - res["b"])
    assert res["low"] > 0
    assert res["p_a_better"] == 1.0
    # lower is better for FPR at fixed FNR: the good scorer has the smaller value
    assert "fpr_at_fnr_5pct" in LOWER_IS_BETTER
    res = paired_group_bootstrap(y, s, g, y, random, g, metric="fpr_at_fnr_5pct", n_boot=300, seed=0)
    assert res["high"] < 0
    assert res["p_a_better"] == 1.0
    swapped = paired_group_bootstrap(y, random, g, y, s, g, metric="fpr_at_fnr_5pct", n_boot=300, seed=0)
    assert swapped["diff"] == pytest.approx(-res["diff"])
    assert swapped["p_a_better"] == 0.0


def test_paired_bootstrap_identical_scorers_and_disjoint_groups():
    y, s, g = make_grouped(15, 10, seed=12)
    same = paired_group_bootstrap(y, s, g, y, s, g, metric="mcc", n_boot=100)
    assert same["diff"] == same["low"] == same["high"] == 0.0
    assert same["p_a_better"] == 0.5
    # B lives in groups A does not have: the union of groups is resampled, B's own rows follow their groups
    res = paired_group_bootstrap(y, s, g, y, s, g + 100, metric="roc_auc", n_boot=100)
    assert res["diff"] == 0.0
    assert res["low"] < 0 < res["high"]
    with pytest.raises(ValueError, match="metric"):
        paired_group_bootstrap(y, s, g, y, s, g, metric="n_pos")


# --- completeness ----------------------------------------------------------------------------------------


def wilson(k, n, z=norm.ppf(0.975)):
    """Textbook Wilson score interval, written out independently of the module under test."""
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def test_completeness_curve_counts_and_wilson_interval():
    mags = [21.1, 21.2, 21.3, 21.6, 22.4, 22.9, 27.9, 28.0, 20.0, np.nan]
    det = [True, True, False, True, False, False, True, False, True, True]
    curve = completeness_curve(mags, det)
    assert list(curve.columns) == [
        "mag_lo",
        "mag_hi",
        "mag_center",
        "n_truth",
        "n_detected",
        "completeness",
        "low",
        "high",
    ]
    assert len(curve) == 14
    assert curve["mag_lo"].iloc[0] == 21.0 and curve["mag_hi"].iloc[-1] == 28.0
    assert curve["mag_center"].iloc[0] == 21.25
    # 20.0 lies outside 21-28 and NaN has no magnitude; 28.0 falls in the last (closed) bin
    assert curve["n_truth"].tolist() == [3, 1, 1, 1] + [0] * 9 + [2]
    assert curve["n_detected"].tolist() == [2, 1, 0, 0] + [0] * 9 + [1]
    assert curve["completeness"].iloc[0] == pytest.approx(2 / 3)
    # Wilson 95 % for 2/3: centre (2/3 + 1.9208/3)/(1 + 3.8415/3) = 0.5731, half-width 0.3654 -> (0.2077,
    # 0.9385)
    assert curve["low"].iloc[0] == pytest.approx(0.2077, abs=1e-4)
    assert curve["high"].iloc[0] == pytest.approx(0.9385, abs=1e-4)
    for i in (0, 1, 2, 13):
        row = curve.iloc[i]
        assert (row["low"], row["high"]) == pytest.approx(wilson(row["n_detected"], row["n_truth"]))
    empty = curve.iloc[4:13]
    assert empty[["completeness", "low", "high"]].isna().all().all()


def test_completeness_curve_explicit_bins_and_validation():
    curve = completeness_curve([21.0, 22.0, 23.5], [True, False, True], bins=[21, 22.5, 24])
    assert curve["n_truth"].tolist() == [2, 1]
    assert curve["completeness"].tolist() == [0.5, 1.0]
    with pytest.raises(ValueError, match="bin_width"):
        completeness_curve([22.0], [True], bin_width=0.3)
    with pytest.raises(ValueError, match="detected"):
        completeness_curve([22.0, 23.0], [True])


def hand_curve(completeness):
    centres = 21.25 + 0.5 * np.arange(len(completeness))
    return pd.DataFrame({"mag_center": centres, "completeness": completeness})


def test_magnitude_at_completeness_interpolates():
    curve = hand_curve([0.9, 0.9, 0.85, 0.7, 0.4, np.nan, 0.1])
    # first drop below 0.8 between 22.25 (0.85) and 22.75 (0.70): 22.25 + 0.5 * 0.05/0.15
    assert magnitude_at_completeness(curve, level=0.8) == pytest.approx(22.25 + 0.5 / 3)
    # below 0.2 first at 24.25 (0.1), the empty 23.75 bin skipped: 23.25 + 1.0 * 0.2/0.3
    assert magnitude_at_completeness(curve, level=0.2) == pytest.approx(23.25 + 2 / 3)
    # plateau under the level, or never falling below it: NaN
    assert np.isnan(magnitude_at_completeness(curve, level=0.95))
    assert np.isnan(magnitude_at_completeness(curve, level=0.05))


def test_m80_from_simulated_completeness_curve():
    # Completeness 0.9 bright of 23.75 mag, falling linearly to 0 at 25.75 mag: m80 = 25.75 - 2 * 0.8/0.9.
    # Every source sits at a bin centre and the kink is at one, so interpolation between centres is exact.
    mags = np.repeat(21.25 + 0.5 * np.arange(14), 1000)
    true_c = np.clip(0.9 * (25.75 - mags) / 2.0, 0.0, 0.9)
    rank = np.tile(np.arange(1000), 14)
    curve = completeness_curve(mags, rank < np.round(true_c * 1000))
    assert magnitude_at_completeness(curve, level=0.8) == pytest.approx(25.75 - 2 * 0.8 / 0.9, abs=1e-3)


# --- false positives per image ---------------------------------------------------------------------------


def test_false_positives_per_image_cumulative_counts():
    bogus = [17.0, 18.5, 19.0, 19.0, 20.3, 25.0, 30.0, np.nan]
    fp = false_positives_per_image(bogus, 2, bin_width=1.0, mag_range=(18.0, 21.0))
    assert fp["mag"].tolist() == [18.0, 19.0, 20.0, 21.0]
    # at or brighter than m: 18 -> {17.0}; 19 -> +18.5, 19.0, 19.0; 20 -> same; 21 -> +20.3
    assert fp["n_bogus"].tolist() == [1, 4, 4, 5]
    assert fp["fp_per_image"].tolist() == [0.5, 2.0, 2.0, 2.5]
    # rate 1 is crossed between 18 (0.5) and 19 (2.0): 18 + 0.5/1.5
    assert magnitude_at_fp_rate(fp, rate=1.0) == pytest.approx(18.0 + 1 / 3)
    assert magnitude_at_fp_rate(fp, rate=2.5) == pytest.approx(21.0)
    assert np.isnan(magnitude_at_fp_rate(fp, rate=5.0))
    assert np.isnan(magnitude_at_fp_rate(fp, rate=0.25))
    with pytest.raises(ValueError, match="n_images"):
        false_positives_per_image(bogus, 0)


def test_default_fp_grid_and_m_th():
    # 10 images with 30 bogus each spread uniformly over 22-25 mag: 10 per image is reached at 23 mag.
    bogus = np.tile(22.05 + 0.1 * np.arange(30), 10)
    fp = false_positives_per_image(bogus, 10)
    assert len(fp) == 51 and fp["mag"].iloc[0] == 18.0 and fp["mag"].iloc[-1] == 28.0
    assert fp["fp_per_image"].iloc[-1] == 30.0
    assert magnitude_at_fp_rate(fp, rate=10.0) == pytest.approx(23.0)
