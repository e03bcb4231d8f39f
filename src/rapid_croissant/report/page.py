"""report.html: a self-contained page (images embedded) that a scientist would rather look at than read.

It renders two things and derives nothing: the dataset's composition (:func:`rapid_croissant.ml.composition`)
and the comparison that ``rapid-croissant compare`` wrote (comparison.json carries each run's metrics, ROC
points, completeness curves, false positives and figure of merit). Sections: headline, composition, a
labelled 9-channel cutout gallery, detection completeness, ROC curves (log false-positive axis), completeness
after the classifiers, false positives per image, reliability diagrams with Brier score and ECE, RAPID's
figure of merit next to its published values, and the comparison tables (with the folds when compare ran
with ``--cv``). Without a comparison the classifier sections say how to make one.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant import __version__
from rapid_croissant.dataset import open_dataset, schema
from rapid_croissant.jsonfile import load_json
from rapid_croissant.ml import plots
from rapid_croissant.ml.composition import balance_rows, composition
from rapid_croissant.ml.formatting import fmt_interval
from rapid_croissant.ml.run import ComparisonFolder
from rapid_croissant.ml.tables import (
    PAIRINGS,
    calibration_rows,
    evaluation_sentence,
    fold_rows,
    fom_rows,
    paired_rows,
    run_rows,
)
from rapid_croissant.writers.atomic import write_text

__all__ = ["write_report"]


def _img(src: str, alt: str) -> str:
    alt = html.escape(alt)
    return f'<figure><img src="{src}" alt="{alt}"><figcaption>{alt}</figcaption></figure>'


def _table(rows: list[dict], columns: list[str] | None = None) -> str:
    columns = columns or (list(rows[0]) if rows else [])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def composition_section(comp: dict) -> str:
    per_filter = [{"filter": f, **v} for f, v in comp["all"]["per_filter"].items()]
    return (
        "<h2>Composition</h2>"
        + _table(balance_rows(comp))
        + "<h3>Per filter</h3>"
        + _table(per_filter, ["filter", "n", "real", "bogus", "unknown"])
    )


def gallery_section(dataset_dir: Path, cand: pd.DataFrame, *, per_class: int = 3, seed: int = 0) -> str:
    """Real and bogus detections of each algorithm, all nine channels (pixels of the dataset)."""
    from rapid_croissant.ml.loader import precompute_cutouts

    rng = np.random.default_rng(seed)
    picks = []
    for alg in schema.SUBTRACTIONS:
        for label, name in ((1, "real"), (0, "bogus")):
            pool = cand[cand[f"{alg}_label"] == label]
            take = pool.iloc[rng.permutation(len(pool))[:per_class]] if len(pool) else pool
            picks += [(f"{alg.upper()} {name}\n{r.candidate_id}", r) for _, r in take.iterrows()]
    if not picks:
        return ""
    rows = pd.DataFrame([r for _, r in picks])
    rows["cx"], rows["cy"] = rows["x"], rows["y"]
    cut = precompute_cutouts(dataset_dir, rows, algorithm="both")
    fig = plots.gallery_figure(
        cut[:, : len(schema.CHANNELS)],
        [title for title, _ in picks],
        list(schema.CHANNELS),
        "Cutouts (64x64) per class and algorithm: all nine channels",
    )
    return _img(plots.data_uri(fig), "Real and bogus candidates of each algorithm, nine channels")


def _load_comparison(path: Path) -> dict | None:
    if not path.is_file():
        return None
    return load_json(path)


def _finished(comparison: dict, protocol: str = "A") -> list[dict]:
    return [r for r in comparison["runs"] if "run" in r and r["protocol"] == protocol]


def roc_section(comparison: dict) -> str:
    panels: dict[str, list[dict]] = {}
    for r in _finished(comparison):
        if r.get("roc"):
            curve = {
                "label": r["algorithm"],
                "algorithm": r["algorithm"],
                **r["roc"],
                "auc": r["metrics"]["roc_auc"],
            }
            panels.setdefault(f"ROC, {r['model']}, protocol A (test jobs)", []).append(curve)
    return (
        _img(plots.data_uri(plots.roc_figure(panels)), "ROC curves (log false-positive rate)")
        if panels
        else ""
    )


def classifier_completeness_section(comparison: dict) -> str:
    panels: dict[str, dict] = {}
    for r in _finished(comparison):
        if r["algorithm"] in schema.SUBTRACTIONS:
            comp = r.get("completeness", {})
            names = (f"detection_{r['algorithm']}", f"classifier_{r['algorithm']}")
            panels.setdefault(f"Detection vs after the {r['model']} classifier", {}).update(
                {n: comp[n] for n in names if n in comp}
            )
    panels = {k: v for k, v in panels.items() if v}
    if not panels:
        return ""
    fig = plots.completeness_figure(panels, bands="classifier")
    return _img(plots.data_uri(fig), "Completeness after the classifier (95 % Wilson bands)")


def fp_section(comparison: dict) -> str:
    rows = []
    for r in _finished(comparison):
        fp = r.get("false_positives", {})
        det, cls = fp.get(f"detection_{r['algorithm']}"), fp.get(f"classifier_{r['algorithm']}")
        if det and cls:
            rows.append(
                {
                    "label": f"{r['model']}\n{r['algorithm']}",
                    "algorithm": r["algorithm"],
                    "detection": det["fp_per_image"]["value"],
                    "classifier": cls["fp_per_image"]["value"],
                }
            )
    return _img(plots.data_uri(plots.fp_bars_figure(rows)), "False positives per test image") if rows else ""


def fom_section(comparison: dict) -> str:
    rows = fom_rows(comparison)
    if not rows:
        return ""
    source = comparison.get("published_fom", {}).get("source", "")
    return (
        "<h2>RAPID's figure of merit (test jobs, 95 % intervals over jobs)</h2>"
        + _table(rows)
        + f"<p>RAPID's published values: {html.escape(source)}. "
        + f"{html.escape(comparison.get('fom_note', ''))}.</p>"
    )


def reliability_section(comparison: dict) -> str:
    """Reliability diagrams of the protocol-A runs (raw scores and calibrated probabilities, test jobs)."""
    panels = {
        f"{r['algorithm']} / {r['model']}": r["calibration"]
        for r in _finished(comparison)
        if r.get("calibration", {}).get("reliability_raw")
    }
    if not panels:
        return ""
    fig = plots.reliability_figure(panels)
    return _img(plots.data_uri(fig), "Reliability diagrams (calibration fitted on val; test jobs)") + _table(
        calibration_rows(comparison)
    )


def comparison_section(comparison: dict) -> str:
    cv = comparison.get("evaluation", {}).get("kind") == "cross-validation"
    title = "Comparison (cross-validation, pooled out-of-fold)" if cv else "Comparison (test split)"
    out = f"<h2>{title}</h2><p>{html.escape(evaluation_sentence(comparison))}</p>"
    out += _table(run_rows(comparison))
    for kind, _ in PAIRINGS:
        rows = paired_rows(comparison, kind)
        if rows:
            out += f"<h3>Which wins: {html.escape(kind)}</h3>" + _table(rows)
    folds = fold_rows(comparison)
    if folds:
        out += "<h3>Cross-validation folds</h3>" + _table(folds)
        out += (
            "<p>Cross-validation pools threshold-free metrics; completeness, false positives per image and "
            "the figure of merit need one test split (run <code>compare</code> without <code>--cv</code>)."
            "</p>"
        )
    return out


def headline(comparison: dict | None) -> str:
    if comparison is None:
        return (
            "<p class='note'>No classifier comparison found: "
            "run <code>rapid-croissant compare</code> first.</p>"
        )
    items = "".join(
        f"<li>{html.escape(p['model'])}, protocol {html.escape(str(p['protocol']))}: ZOGY - SFFT ROC AUC = "
        f"{html.escape(fmt_interval({'value': p['diff'], 'low': p['low'], 'high': p['high']}, '+.3f'))}: "
        f"<b>{html.escape(p['verdict'])}</b></li>"
        for p in comparison["paired"]
        if p["comparison"] == "zogy vs sfft" and p["metric"] == "roc_auc"
    )
    return f"<h2>Headline: which algorithm gives the better classifier?</h2><ul>{items}</ul>"


CSS = """body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0;font-size:0.85em}td,th{border:1px solid #ccc;padding:3px 6px}
th{background:#f0f0f0}figure{margin:1em 0}img{max-width:100%}figcaption{font-size:0.8em;color:#555}
.note{background:#fff6d0;padding:0.5em}"""


def _comparison_path(layout, comparison: str | Path | None) -> Path:
    if comparison and not Path(comparison).is_dir():
        return Path(comparison)
    return ComparisonFolder(Path(comparison) if comparison else layout.comparison_dir).json


def write_report(
    dataset_dir: str | Path, *, comparison: str | Path | None = None, output: str | Path | None = None
) -> Path:
    """Write the self-contained HTML report of a dataset (and of its classifier comparison, when given)."""
    ds = open_dataset(dataset_dir)
    comp = composition(ds.root)
    cmp = _load_comparison(_comparison_path(ds.layout, comparison))
    parts = [
        f"<h1>rapid-croissant report: {html.escape(ds.root.name)}</h1>",
        f"<p>{comp['all']['n_candidates']} candidates from {comp['jobs']['n']} jobs; rapid-croissant "
        f"{__version__}.</p>",
        headline(cmp),
        composition_section(comp),
        "<h2>Cutout gallery</h2>",
    ]
    labelled = ds.candidates[ds.candidates.label >= 0]
    if ds.layout.images_dir.is_dir() and len(labelled):
        parts.append(gallery_section(ds.root, labelled))
    if comp["detection_completeness"]:
        fig = plots.completeness_figure(
            {"Detection completeness, all labelled jobs": comp["detection_completeness"]}
        )
        parts += [
            "<h2>Completeness vs AB magnitude</h2>",
            _img(plots.data_uri(fig), "Detection, ZOGY vs SFFT"),
        ]
    if cmp is not None:
        for title, section in (
            ("ROC curves", roc_section(cmp)),
            ("Completeness after the classifier", classifier_completeness_section(cmp)),
            ("False positives per image", fp_section(cmp)),
            ("Calibration", reliability_section(cmp)),
        ):
            if section:
                parts += [f"<h2>{title}</h2>", section]
        parts += [fom_section(cmp), comparison_section(cmp)]
    head = f"<meta charset='utf-8'><title>rapid-croissant report</title><style>{CSS}</style>"
    page = f"<!DOCTYPE html><html><head>{head}</head><body>{''.join(parts)}</body></html>"
    out = Path(output) if output else ds.layout.report_html
    write_text(out, page)
    return out
