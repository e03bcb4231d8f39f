"""The shared figures: ROC on a log false-positive axis, completeness with Wilson bands."""

from __future__ import annotations

from rapid_croissant.ml import plots
from rapid_croissant.ml.completeness import completeness_curve


def test_roc_has_a_log_false_positive_axis_and_survives_fpr_zero(tmp_path):
    curve = {"label": "zogy", "algorithm": "zogy", "fpr": [0.0, 0.0, 0.01, 1.0], "tpr": [0.0, 0.6, 0.95, 1.0]}
    fig = plots.roc_figure({"ROC": [{**curve, "auc": {"value": 0.97, "low": 0.95, "high": 0.99}}]})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlim()[0] == plots.MIN_FPR
    assert "AUC 0.970 [0.950, 0.990]" in ax.get_legend().get_texts()[0].get_text()
    assert plots.save(fig, tmp_path / "roc.png").stat().st_size > 1000


def test_completeness_has_wilson_bands():
    curve = completeness_curve(
        [21.2, 21.7, 22.4, 22.6], [True, True, True, False], bin_width=1.0, mag_range=(21, 23)
    )
    entry = {"curve": curve.to_dict(orient="list"), "m50": {"value": None, "reason": "x"}}
    fig = plots.completeness_figure({"t": {"detection_zogy": entry, "classifier_zogy": entry}})
    ax = fig.axes[0]
    assert len(ax.collections) == 2  # one shaded Wilson band per curve
    assert "m50 n/a (x)" in ax.get_legend().get_texts()[0].get_text()
