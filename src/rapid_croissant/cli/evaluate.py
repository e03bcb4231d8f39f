"""``rapid-croissant evaluate``: test-split metrics with job-bootstrap intervals, completeness and plots."""

from __future__ import annotations

import click

from rapid_croissant.cli.options import device_option


@click.command("evaluate")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "-d",
    "--dataset",
    "dataset_dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Dataset folder (default: the one recorded in the run's config.json).",
)
@click.option(
    "--n-boot",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Bootstrap resamples of test jobs for the 95 % intervals.",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option(
    "--tta/--no-tta",
    default=True,
    show_default=True,
    help="CNN runs: average the 8 rotations/flips of each cutout and re-choose the threshold on val.",
)
@click.option(
    "--calibration",
    type=click.Choice(("platt", "isotonic", "none")),
    default="platt",
    show_default=True,
    help="Map from score to P(real), fitted on val (ranking metrics use the scores).",
)
@device_option
def command(run_dir, dataset_dir, n_boot, seed, no_plots, tta, calibration, device):
    """Evaluate RUN_DIR on the test split and write evaluation.json (and plots) into it."""
    from rapid_croissant.ml.evaluate import evaluate_run

    result = evaluate_run(
        run_dir,
        dataset_dir,
        n_boot=n_boot,
        seed=seed,
        plots=not no_plots,
        tta=tta,
        calibration=calibration,
        device=device,
    )
    click.echo(format_evaluation(result))
    click.echo(f"written: {run_dir}/evaluation.json {' '.join(result.get('plots', []))}")


def format_evaluation(result: dict) -> str:
    """Text summary of :func:`rapid_croissant.ml.evaluate.evaluate_run`'s result."""
    from rapid_croissant.ml.formatting import fmt_interval, fmt_number

    cls = result["classification"]
    lines = [
        f"{result['algorithm']} / {result['model']} / protocol {result['protocol']}: "
        f"{cls['n']} test candidates ({cls['n_real']} real) in {cls['n_jobs']} job(s), "
        f"threshold {result['threshold']:.4f}"
    ]
    calib = result.get("calibration", {})
    if calib:
        raw, cal = calib["test_raw"], calib["test_calibrated"]
        lines.append(
            f"  dihedral averaging: {'on' if result.get('tta') else 'off'}; calibration "
            f"{calib['map']['method']} (fitted on val): test Brier {fmt_number(raw['brier'])} -> "
            f"{fmt_number(cal['brier'])}, ECE {fmt_number(raw['ece'])} -> {fmt_number(cal['ece'])}"
        )
    if result.get("note"):
        lines.append(f"note: {result['note']}")
    for name, m in cls.get("metrics", {}).items():
        lines.append(
            f"  {name:<20} {fmt_number(m['value'])}  [{fmt_number(m['low'])}, {fmt_number(m['high'])}]"
        )
    for name, c in result.get("completeness", {}).items():
        lines.append(
            f"  {name:<22} detected {c['n_detected']}/{c['n_truth']}  m50 {fmt_interval(c['m50'], '.2f')}"
            f"  m80 {fmt_interval(c['m80'], '.2f')}"
        )
    for name, fp in result.get("false_positives", {}).items():
        lines.append(
            f"  false positives per image, {name}: {fmt_interval(fp['fp_per_image'], '.2f')}; "
            f"m_th (10 per image) {fmt_interval(fp['m_th_10'], '.2f')}"
        )
    published = result.get("figure_of_merit", {}).get("published", {})
    for alg in ("zogy", "sfft") if result["algorithm"] == "both" else (result["algorithm"],):
        if alg in published:
            p = published[alg]
            lines.append(
                f"  RAPID published {alg.upper()}: m80 {p['m80']:.2f}, m20 {p['m20']:.2f}, "
                f"m_th {p['m_th_10']:.2f}, FOM {p['fom']:.2f}"
            )
    return "\n".join(lines)
