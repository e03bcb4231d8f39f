"""Every figure of the project, drawn from what evaluate and compare wrote (shared by evaluate and the
report).

matplotlib's object API only (no pyplot): no backend or display is touched. Each function returns a
Figure; :func:`save` writes it as PNG, :func:`data_uri` embeds it in a page. ROC curves use a logarithmic
false-positive axis (the low-FPR end is where a survey operates); completeness curves carry their Wilson
intervals.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np

from rapid_croissant.ml.formatting import fmt_interval

__all__ = [
    "COLORS",
    "completeness_figure",
    "data_uri",
    "fp_bars_figure",
    "gallery_figure",
    "reliability_figure",
    "roc_figure",
    "save",
    "score_histogram",
]

COLORS = {"zogy": "#1f77b4", "sfft": "#d62728", "both": "#2ca02c"}
#: The lowest false-positive rate drawn on a log axis (a curve starting at FPR 0 is clipped to it).
MIN_FPR = 1e-4


def _figure(width: float, height: float, nrows: int = 1, ncols: int = 1):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def save(fig, path: str | Path, dpi: int = 110) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return Path(path)


def data_uri(fig, dpi: int = 90) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _curve_color(name: str) -> str | None:
    return COLORS.get(name.rsplit("_", 1)[-1])


def roc_figure(panels: dict[str, list[dict]]) -> object:
    """One axes per panel title; each curve ``{"label", "algorithm", "fpr", "tpr", "auc": interval}``."""
    fig, axes = _figure(5 * len(panels), 4.2, 1, max(len(panels), 1))
    for ax, (title, curves) in zip(axes[0], panels.items(), strict=False):
        for c in curves:
            fpr = np.maximum(np.asarray(c["fpr"], dtype=float), MIN_FPR)
            label = f"{c['label']}: AUC {fmt_interval(c['auc'])}"
            ax.step(fpr, c["tpr"], where="post", color=COLORS.get(c["algorithm"]), label=label)
        ax.set_xscale("log")
        ax.set(xlim=(MIN_FPR, 1), ylim=(0, 1.02), title=title)
        ax.set(xlabel="false-positive rate (log)", ylabel="true-positive rate (1 - missed-detection rate)")
        ax.axvline(0.01, ls=":", c="grey", lw=0.8)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="lower right")
    return fig


def score_histogram(y, score, threshold: float, title: str) -> object:
    fig, axes = _figure(5.5, 3.8)
    ax = axes[0, 0]
    bins = np.linspace(0, 1, 26)
    for value, name, color in ((0, "bogus", "tab:red"), (1, "real", "tab:blue")):
        sel = y == value
        ax.hist(score[sel], bins=bins, histtype="step", lw=1.5, color=color, label=f"{name} ({sel.sum()})")
    ax.axvline(threshold, ls="--", c="k", label=f"threshold {threshold:.3f}")
    ax.set(xlabel="score", ylabel="candidates", title=title, yscale="log")
    ax.legend(fontsize=8)
    return fig


def _draw_completeness(ax, name: str, entry: dict, *, bands: bool) -> None:
    curve = entry["curve"]
    x, y = np.asarray(curve["mag_center"], float), np.asarray(curve["completeness"], float)
    after = name.startswith("classifier")
    color = _curve_color(name)
    label = f"{name} (m50 {fmt_interval(entry['m50'], '.2f')})"
    ax.plot(x, y, ls="-" if after else "--", marker="o" if after else None, ms=3, color=color, label=label)
    if bands:
        low, high = np.asarray(curve["low"], float), np.asarray(curve["high"], float)
        ax.fill_between(x, low, high, alpha=0.12, color=color)


def completeness_figure(panels: dict[str, dict], *, bands: str = "all") -> object:
    """Completeness vs truth magnitude, one axes per panel ``{title: {curve name: completeness entry}}``.

    Dashed: detection only; solid with markers: after a classifier; shaded: 95 % Wilson intervals
    (``bands`` 'all' or 'classifier' for the final curves only).
    """
    fig, axes = _figure(6 * len(panels), 4, 1, max(len(panels), 1))
    for ax, (title, curves) in zip(axes[0], panels.items(), strict=False):
        for name, entry in curves.items():
            _draw_completeness(ax, name, entry, bands=bands == "all" or name.startswith("classifier"))
        ax.set(xlabel="truth AB magnitude", ylabel="completeness", ylim=(-0.02, 1.05), title=title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return fig


def fp_bars_figure(rows: list[dict]) -> object:
    """False positives per image before and after the classifier: ``{"label", "algorithm", "detection",
    "classifier"}`` rows (values per image)."""
    fig, axes = _figure(max(5, 1.1 * len(rows)), 3.6)
    ax = axes[0, 0]
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["detection"] for r in rows], width=0.4, color="lightgray", label="detection")
    colors = [COLORS.get(r["algorithm"], "grey") for r in rows]
    ax.bar(x + 0.2, [r["classifier"] for r in rows], width=0.4, color=colors, label="kept by the classifier")
    ax.set_xticks(x, [r["label"] for r in rows], fontsize=7)
    ax.set_ylabel("false positives per image")
    ax.set_yscale("symlog", linthresh=1)
    ax.legend(fontsize=7)
    ax.set_title("False positives per test image")
    return fig


def gallery_figure(cutouts: np.ndarray, row_titles, col_titles, suptitle: str, cell_titles=None) -> object:
    """A grid of cutouts ``(rows, cols, S, S)`` (NaN cells stay blank); a column titled 'psf' is not
    clipped."""
    n, k = cutouts.shape[:2]
    fig, axes = _figure(1.3 * k + 0.6, 1.35 * n + 0.4, n, k)
    for i in range(n):
        for j in range(k):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if np.isfinite(cutouts[i, j]).any():
                vmax = None if col_titles[j] == "psf" else 1
                ax.imshow(cutouts[i, j], origin="lower", cmap="gray", vmin=0, vmax=vmax)
            if cell_titles is not None and cell_titles[i][j]:
                ax.set_title(cell_titles[i][j], fontsize=7)
            elif i == 0:
                ax.set_title(col_titles[j], fontsize=8)
        axes[i, 0].set_ylabel(row_titles[i], fontsize=6)
    fig.suptitle(suptitle, fontsize=10)
    return fig


def reliability_figure(panels: dict[str, dict]) -> object:
    """Reliability diagrams of the test split, one axes per panel title (an evaluation's ``calibration``):
    fraction real (Wilson interval) against mean probability per bin, raw scores and calibrated
    probabilities, with the Brier score and ECE of each."""
    fig, axes = _figure(4.6 * len(panels), 4.2, 1, max(len(panels), 1))
    for ax, (title, calibration) in zip(axes[0], panels.items(), strict=False):
        ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=0.8, label="perfect")
        method = calibration["map"]["method"]
        for key, name, color in (("raw", "raw score", "tab:grey"), ("calibrated", method, "tab:blue")):
            rows = calibration[f"reliability_{key}"]
            if not rows or (key == "calibrated" and method == "none"):
                continue
            x = np.array([r["mean_probability"] for r in rows])
            y = np.array([r["fraction_real"] for r in rows])
            err = np.array(
                [
                    [r["fraction_real"] - r["fraction_low"], r["fraction_high"] - r["fraction_real"]]
                    for r in rows
                ]
            )
            q = calibration[f"test_{key}"]
            label = f"{name}: Brier {q['brier']:.3f}, ECE {q['ece']:.3f}"
            ax.errorbar(
                x, y, yerr=np.clip(err.T, 0, None), marker="o", ms=4, capsize=2, color=color, label=label
            )
        ax.set(xlim=(0, 1), ylim=(0, 1.02), title=title, xlabel="mean predicted probability")
        ax.set(ylabel="fraction real (95 % Wilson)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    return fig
