"""The tables of a comparison, defined once: rows of formatted cells that compare writes as Markdown and
the report renders as HTML (neither recomputes anything)."""

from __future__ import annotations

from rapid_croissant.ml.formatting import fmt_interval, fmt_number, markdown_table

__all__ = [
    "COMPARED_METRICS",
    "calibration_rows",
    "comparison_markdown",
    "evaluation_sentence",
    "fold_rows",
    "fom_rows",
    "paired_rows",
    "run_rows",
]

#: Metrics of the comparison tables; the last two are lower-is-better operating points.
COMPARED_METRICS = ("roc_auc", "average_precision", "fpr_at_fnr_5pct", "mdr_at_fpr_1pct")
PAIRINGS = (("zogy vs sfft", "model"), ("cnn vs gbt", "algorithm"))


def run_rows(comparison: dict) -> list[dict]:
    """One row per trained (or failed) run: test rows, jobs and each compared metric with its interval."""
    rows = []
    for r in comparison["runs"]:
        row = {"model": r["model"], "protocol": r["protocol"], "algorithm": r["algorithm"]}
        if "error" in r:
            row["test rows (real)"] = "not trained: " + r["error"]
        else:
            row["test rows (real)"] = f"{r['n_test']} ({r['n_test_real']})"
            row["jobs"] = str(r["n_test_jobs"])
            row.update({m: fmt_interval(r["metrics"].get(m)) for m in COMPARED_METRICS})
        rows.append(row)
    return rows


def paired_rows(comparison: dict, kind: str) -> list[dict]:
    """The paired "which wins" rows of one kind ('zogy vs sfft' or 'cnn vs gbt')."""
    key = dict(PAIRINGS)[kind]
    a, b = kind.split(" vs ")
    rows = []
    for p in comparison["paired"]:
        if p["comparison"] != kind:
            continue
        diff = {"value": p["diff"], "low": p["low"], "high": p["high"]}
        rows.append(
            {
                key: p[key],
                "protocol": p["protocol"],
                "metric": p["metric"],
                a: fmt_number(p["a"]),
                b: fmt_number(p["b"]),
                f"{a} - {b} [95 % interval]": fmt_interval(diff),
                "verdict": p["verdict"],
            }
        )
    return rows


def fom_rows(comparison: dict) -> list[dict]:
    """RAPID's figure-of-merit quantities per run, algorithm and stage, with RAPID's published values."""
    published = comparison.get("published_fom", {})
    rows = []
    for r in comparison["runs"]:
        for f in r.get("figure_of_merit", {}).get("rows", []):
            pub = published.get(f["algorithm"], {})
            rows.append(
                {
                    "run (model, protocol, candidates)": f"{r['model']}, {r['protocol']}, {r['algorithm']}",
                    "curve": f["curve"],
                    "m50": fmt_interval(f["m50"], ".2f"),
                    "m80": fmt_interval(f["m80"], ".2f"),
                    "m20": fmt_interval(f["m20"], ".2f"),
                    "FP / image": fmt_interval(f["fp_per_image"], ".1f"),
                    "m_th (10 FP / image)": fmt_interval(f["m_th_10"], ".2f"),
                    "RAPID m80 / m20 / m_th": _published(pub),
                    "RAPID FOM": fmt_number(pub.get("fom"), ".2f") if pub else "",
                }
            )
    return rows


def _published(pub: dict) -> str:
    return " / ".join(fmt_number(pub.get(k), ".2f") for k in ("m80", "m20", "m_th_10")) if pub else ""


def evaluation_sentence(comparison: dict) -> str:
    """How the comparison was evaluated: the test split, or grouped K-fold cross-validation."""
    n_boot = comparison["n_boot"]
    ev = comparison.get("evaluation", {})
    if ev.get("kind") == "cross-validation":
        return (
            f"Grouped {ev['k']}-fold cross-validation by sky field: every labelled job is tested once, by "
            "the run that did not train on its field (validation: whole fields of the other folds). Metrics "
            f"pool the out-of-fold scores; 95 % intervals from {n_boot} bootstrap resamples of all jobs."
        )
    return f"Test split only; 95 % intervals from {n_boot} bootstrap resamples of test jobs."


def fold_rows(comparison: dict) -> list[dict]:
    """Cross-validation: one row per run and fold (test jobs, rows and the fold's val threshold)."""
    rows = []
    for r in comparison["runs"]:
        for f in r.get("folds", []):
            rows.append(
                {
                    "run (model, protocol, candidates)": f"{r['model']}, {r['protocol']}, {r['algorithm']}",
                    "fold": str(f["fold"]),
                    "test jobs": ", ".join(f["test_jobs"]),
                    "test rows": str(f["n_test"]),
                    "threshold (val)": fmt_number(f["threshold"]),
                }
            )
    return rows


def calibration_rows(comparison: dict) -> list[dict]:
    """Per run: dihedral averaging, the calibration map fitted on val, and the test Brier score and ECE of
    the raw scores and of the calibrated probabilities."""
    rows = []
    for r in comparison["runs"]:
        c = r.get("calibration")
        if not c:
            continue
        raw, cal = c["test_raw"], c["test_calibrated"]
        rows.append(
            {
                "run (model, protocol, candidates)": f"{r['model']}, {r['protocol']}, {r['algorithm']}",
                "test-time dihedral averaging": "yes" if r.get("tta") else "no",
                "calibration (fitted on val)": c["map"]["method"],
                "Brier raw -> calibrated": f"{fmt_number(raw['brier'])} -> {fmt_number(cal['brier'])}",
                "ECE raw -> calibrated": f"{fmt_number(raw['ece'])} -> {fmt_number(cal['ece'])}",
            }
        )
    return rows


def comparison_markdown(comparison: dict, *, caution: str | None = None) -> str:
    """comparison.md: the per-run table, the paired tables and the figure-of-merit table."""
    lines = ["# Real/bogus classifiers: ZOGY vs SFFT", ""]
    lines.append(evaluation_sentence(comparison))
    if caution:
        lines.append(caution)
    lines += ["", markdown_table(run_rows(comparison))]
    for kind, _ in PAIRINGS:
        a, b = kind.split(" vs ")
        lines += ["", f"## Which wins: {kind} (difference {a} - {b}, paired over the same test jobs)", ""]
        rows = paired_rows(comparison, kind)
        lines.append(markdown_table(rows) if rows else "No pair of finished runs to compare.")
    rows = fom_rows(comparison)
    if rows:
        lines += ["", "## RAPID's figure of merit (test jobs)", "", markdown_table(rows), ""]
        lines.append(f"RAPID's values: {comparison.get('published_fom', {}).get('source', '')}.")
        lines.append(comparison.get("fom_note", ""))
    rows = calibration_rows(comparison)
    if rows:
        lines += ["", "## Calibration (test jobs)", "", markdown_table(rows)]
    rows = fold_rows(comparison)
    if rows:
        lines += ["", "## Cross-validation folds", "", markdown_table(rows)]
    lines += ["", "Lower is better for fpr_at_fnr_5pct, mdr_at_fpr_1pct and FP / image."]
    return "\n".join(lines) + "\n"
