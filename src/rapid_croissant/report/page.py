"""report.html: a self-contained page (images embedded) that a scientist would rather look at than read.

Sections: headline, composition, a labelled 9-channel cutout gallery per class and algorithm, ROC curves,
completeness vs AB magnitude (ZOGY vs SFFT, detection and after the classifier), false positives per
image, and the comparison table with intervals. Works on any built dataset; the classifier sections need
a comparison (``rapid-croissant compare``) and say so when there is none.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant import __version__
from rapid_croissant.dataset import open_dataset, schema
from rapid_croissant.writers.atomic import write_text

COLORS = {"zogy": "#1f77b4", "sfft": "#d62728", "both": "#2ca02c"}


def fmt_number(value, fmt: str = ".2f") -> str:
    """A number read back from JSON (NaN is stored as null) formatted, or 'n/a'."""
    if value is None or not np.isfinite(value):
        return "n/a"
    return format(value, fmt)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _img(src: str, alt: str) -> str:
    return f'<figure><img src="{src}" alt="{html.escape(alt)}"><figcaption>{html.escape(alt)}</figcaption></figure>'


def _table(rows: list[dict], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def composition_section(cand: pd.DataFrame) -> str:
    rows = []
    for split in (*schema.SPLITS, "all"):
        c = cand if split == "all" else cand[cand.split == split]
        by = c.detected_by.value_counts()
        rows.append(
            {
                "split": split,
                "candidates": len(c),
                "real": int((c.label == 1).sum()),
                "bogus": int((c.label == 0).sum()),
                "unknown": int((c.label == -1).sum()),
                "injected reals": int(((c.label == 1) & c.injected.fillna(False)).sum()),
                "ZOGY-only": int(by.get("zogy", 0)),
                "SFFT-only": int(by.get("sfft", 0)),
                "both": int(by.get("both", 0)),
                "jobs": c.jid.nunique(),
            }
        )
    per_filter = cand.groupby("filter").agg(
        candidates=("candidate_id", "size"), real=("label", lambda s: int((s == 1).sum()))
    )
    frows = [{"filter": f, **r} for f, r in per_filter.to_dict(orient="index").items()]
    return (
        "<h2>Composition</h2>"
        + _table(rows, list(rows[0]))
        + "<h3>Per filter</h3>"
        + _table(frows, ["filter", "candidates", "real"])
    )


def gallery_figure(dataset_dir: Path, cand: pd.DataFrame, *, per_class: int = 3, seed: int = 0) -> str:
    """One row per example: real/bogus x ZOGY/SFFT detections, nine labelled channels each."""
    import matplotlib.pyplot as plt

    from rapid_croissant.ml.loader import precompute_cutouts

    rng = np.random.default_rng(seed)
    picks = []
    for alg in schema.SUBTRACTIONS:
        for label, name in ((1, "real"), (0, "bogus")):
            pool = cand[(cand[f"{alg}_label"] == label)]
            take = pool.iloc[rng.permutation(len(pool))[:per_class]] if len(pool) else pool
            picks += [(f"{alg.upper()} {name}", r) for _, r in take.iterrows()]
    if not picks:
        return ""
    rows = pd.DataFrame([r for _, r in picks])
    rows["cx"], rows["cy"] = rows["x"], rows["y"]
    cut = precompute_cutouts(dataset_dir, rows, algorithm="both")
    n, k = len(picks), len(schema.CHANNELS)
    fig, axes = plt.subplots(n, k, figsize=(1.3 * k, 1.35 * n), squeeze=False)
    for i, (title, r) in enumerate(picks):
        for j, ch in enumerate(schema.CHANNELS):
            ax = axes[i, j]
            ax.imshow(cut[i, j], origin="lower", cmap="gray", vmin=0, vmax=1 if ch != "psf" else None)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(ch, fontsize=8)
        axes[i, 0].set_ylabel(f"{title}\n{r.candidate_id}", fontsize=6)
    fig.suptitle("Cutouts (64x64) per class and algorithm: all nine channels", fontsize=10)
    return _png(fig)


def detection_completeness_figure(cand: pd.DataFrame, truth: pd.DataFrame, jobs: pd.DataFrame) -> str:
    """Completeness vs truth AB magnitude for detection alone, ZOGY vs SFFT, over all labelled jobs."""
    import matplotlib.pyplot as plt

    from rapid_croissant.ml.completeness import completeness_curve

    ok_jobs = set(jobs.loc[jobs.has_truth.fillna(False) & (jobs.status != "failed"), "jid"])
    t = truth[truth.jid.isin(ok_jobs)]
    keys = (t.jid + "|" + t.truth_id).to_numpy()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for alg in schema.SUBTRACTIONS:
        found = set((cand.jid + "|" + cand[f"{alg}_truth_id"]).dropna())
        curve = completeness_curve(
            t.mag.to_numpy(float), np.isin(keys, list(found)), bin_width=0.5, mag_range=(20.5, 28.5)
        )
        ax.errorbar(
            curve.mag_center,
            curve.completeness,
            yerr=[curve.completeness - curve.low, curve.high - curve.completeness],
            marker="o",
            ms=3,
            capsize=2,
            color=COLORS[alg],
            label=f"{alg.upper()} detection",
        )
    ax.set_xlabel("truth AB magnitude")
    ax.set_ylabel("completeness")
    ax.set_ylim(-0.02, 1.05)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Detection completeness, all labelled jobs (95 % Wilson intervals)")
    return _png(fig)


def _load_comparison(path: Path | None) -> dict | None:
    """comparison.json, with each finished run's evaluation.json read once (under ``evaluation``)."""
    if path is None or not path.is_file():
        return None
    comparison = json.loads(path.read_text())
    for r in comparison["runs"]:
        if "run" in r:
            # run folders live under <comparison>/runs/protocol_<P>/; the stored path may be relative to
            # wherever `compare` ran, or the dataset may have moved since
            local = path.parent / "runs" / f"protocol_{r['protocol']}" / Path(r["run"]).name
            r["run"] = str(local if local.is_dir() else Path(r["run"]))
        ev = Path(r["run"]) / "evaluation.json" if "run" in r else None
        r["evaluation"] = json.loads(ev.read_text()) if ev is not None and ev.is_file() else {}
    return comparison


def _finished(comparison: dict, protocol: str = "A") -> list[dict]:
    return [r for r in comparison["runs"] if "run" in r and r["protocol"] == protocol]


def _model_panels(comparison: dict, *, width: float, height: float):
    """One axes per model of the finished protocol-A runs: (figure, [(axes, model, runs of that model)])."""
    import matplotlib.pyplot as plt

    runs = _finished(comparison)
    models = sorted({r["model"] for r in runs})
    if not runs:
        return None, []
    fig, axes = plt.subplots(1, len(models), figsize=(width * len(models), height), squeeze=False)
    return fig, [(ax, m, [r for r in runs if r["model"] == m]) for ax, m in zip(axes[0], models, strict=True)]


def roc_figure(comparison: dict) -> str:
    from sklearn.metrics import roc_curve

    fig, panels = _model_panels(comparison, width=5, height=4)
    if fig is None:
        return ""
    for ax, model, runs in panels:
        for r in runs:
            pred = pd.read_parquet(Path(r["run"]) / "predictions.parquet")
            test = pred[(pred.split == "test") & (pred.label >= 0)]
            if test.label.nunique() < 2:
                continue
            fpr, tpr, _ = roc_curve(test.label, test.score)
            auc = r["metrics"]["roc_auc"]
            ax.plot(
                fpr,
                tpr,
                color=COLORS[r["algorithm"]],
                label=f"{r['algorithm']}: AUC {fmt_number(auc.get('value'), '.3f')} [{fmt_number(auc.get('low'), '.3f')}, {fmt_number(auc.get('high'), '.3f')}]",
            )
        ax.plot([0, 1], [0, 1], ls=":", color="gray")
        ax.set_xlabel("false-positive rate")
        ax.set_ylabel("true-positive rate")
        ax.set_title(f"ROC, {model}, protocol A (test jobs)")
        ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def classifier_completeness_figure(comparison: dict) -> str:
    fig, panels = _model_panels(comparison, width=5.5, height=3.8)
    if fig is None:
        return ""
    for ax, model, runs in panels:
        for r in (r for r in runs if r["algorithm"] in schema.SUBTRACTIONS):
            for kind, ls in (("detection", "--"), ("classifier", "-")):
                c = r["evaluation"].get("completeness", {}).get(f"{kind}_{r['algorithm']}")
                if c:
                    ax.plot(
                        c["curve"]["mag_center"],
                        c["curve"]["completeness"],
                        ls=ls,
                        marker="o",
                        ms=3,
                        color=COLORS[r["algorithm"]],
                        label=f"{r['algorithm'].upper()} {kind} (m50 {fmt_number(c['m50'])})",
                    )
        ax.set_xlabel("truth AB magnitude")
        ax.set_ylabel("completeness (test jobs)")
        ax.set_ylim(-0.02, 1.05)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        ax.set_title(f"Detection vs after the {model} classifier")
    return _png(fig)


def fp_figure(comparison: dict) -> str:
    import matplotlib.pyplot as plt

    rows = []
    for r in _finished(comparison):
        fp = r["evaluation"].get("false_positives", {})
        if fp:
            rows.append(
                (
                    f"{r['model']}\n{r['algorithm']}",
                    fp["detection"]["fp_per_image"],
                    fp["classifier"]["fp_per_image"],
                    r["algorithm"],
                )
            )
    if not rows:
        return ""
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(rows)), 3.6))
    x = np.arange(len(rows))
    ax.bar(
        x - 0.2, [r[1] for r in rows], width=0.4, color="lightgray", label="detection (all bogus candidates)"
    )
    ax.bar(
        x + 0.2,
        [r[2] for r in rows],
        width=0.4,
        color=[COLORS[r[3]] for r in rows],
        label="kept by the classifier",
    )
    ax.set_xticks(x, [r[0] for r in rows], fontsize=7)
    ax.set_ylabel("false positives per image")
    ax.set_yscale("symlog", linthresh=1)
    ax.legend(fontsize=7)
    ax.set_title("False positives per test image (protocol A)")
    return _png(fig)


def comparison_tables(comparison: dict) -> str:
    def iv(m: dict) -> str:
        lo, hi = fmt_number(m.get("low"), ".3f"), fmt_number(m.get("high"), ".3f")
        return fmt_number(m.get("value"), ".3f") + (f" [{lo}, {hi}]" if "n/a" not in (lo, hi) else "")

    metrics = ("roc_auc", "average_precision", "fpr_at_fnr_5pct", "mdr_at_fpr_1pct")
    rows = [
        {
            "model": r["model"],
            "protocol": r["protocol"],
            "algorithm": r["algorithm"],
            "test rows (real)": f"{r.get('n_test', '')} ({r.get('n_test_real', '')})",
            **{m: iv(r["metrics"][m]) if "metrics" in r else r.get("error", "") for m in metrics},
        }
        for r in comparison["runs"]
    ]
    pairs = [
        {
            "comparison": p["comparison"],
            "model/algorithm": p.get("model", p.get("algorithm")),
            "protocol": p["protocol"],
            "metric": p["metric"],
            "difference [95 %]": iv({"value": p["diff"], "low": p["low"], "high": p["high"]}),
            "verdict": p["verdict"],
        }
        for p in comparison["paired"]
    ]
    out = "<h2>Comparison (test split, 95 % intervals over test jobs)</h2>" + _table(
        rows, list(rows[0]) if rows else []
    )
    if pairs:
        out += "<h3>Which wins</h3>" + _table(pairs, list(pairs[0]))
    return out


def headline(comparison: dict | None) -> str:
    if comparison is None:
        return "<p class='note'>No classifier comparison found: run <code>rapid-croissant compare</code> first.</p>"
    rows = [p for p in comparison["paired"] if p["comparison"] == "zogy vs sfft" and p["metric"] == "roc_auc"]
    items = "".join(
        f"<li>{html.escape(p['model'])}, protocol {p['protocol']}: ZOGY - SFFT ROC AUC = {fmt_number(p['diff'], '+.3f')} "
        f"[{fmt_number(p['low'], '+.3f')}, {fmt_number(p['high'], '+.3f')}]: <b>{html.escape(p['verdict'])}</b></li>"
        for p in rows
    )
    return f"<h2>Headline: which algorithm gives the better classifier?</h2><ul>{items}</ul>"


CSS = """body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0;font-size:0.85em}td,th{border:1px solid #ccc;padding:3px 6px}
th{background:#f0f0f0}figure{margin:1em 0}img{max-width:100%}figcaption{font-size:0.8em;color:#555}
.note{background:#fff6d0;padding:0.5em}"""


def write_report(
    dataset_dir: str | Path, *, comparison: str | Path | None = None, output: str | Path | None = None
) -> Path:
    """Write the self-contained HTML report of a dataset (and of its classifier comparison, when given)."""
    import matplotlib

    matplotlib.use("Agg")
    root = Path(dataset_dir)
    ds = open_dataset(root)
    cand, truth, jobs = ds.candidates, ds.truth, ds.jobs
    comp_path = Path(comparison) if comparison else root / "comparison" / "comparison.json"
    if comp_path.is_dir():
        comp_path = comp_path / "comparison.json"
    comp = _load_comparison(comp_path)
    parts = [
        f"<h1>rapid-croissant report: {html.escape(root.name)}</h1>",
        f"<p>{len(cand)} candidates from {len(jobs)} jobs; rapid-croissant {__version__}.</p>",
        headline(comp),
        composition_section(cand),
        "<h2>Cutout gallery</h2>",
    ]
    labelled = cand[cand.label >= 0]
    if ds.layout.images_dir.is_dir() and len(labelled):
        parts.append(
            _img(gallery_figure(root, labelled), "Real and bogus candidates of each algorithm, nine channels")
        )
    parts += [
        "<h2>Completeness vs AB magnitude</h2>",
        _img(detection_completeness_figure(cand, truth, jobs), "Detection completeness, ZOGY vs SFFT"),
    ]
    if comp is not None:
        for title, src in (
            ("ROC curves", roc_figure(comp)),
            ("Completeness after the classifier", classifier_completeness_figure(comp)),
            ("False positives per image", fp_figure(comp)),
        ):
            if src:
                parts += [f"<h2>{title}</h2>", _img(src, title)]
        parts.append(comparison_tables(comp))
    page = f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>rapid-croissant report</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>"
    out = Path(output) if output else ds.layout.report_html
    write_text(out, page)
    return out
