"""``rapid-croissant evaluate``: test-split metrics with job-bootstrap intervals, completeness and plots."""

from __future__ import annotations

import click


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
def command(run_dir, dataset_dir, n_boot, seed, no_plots):
    """Evaluate RUN_DIR on the test split and write evaluation.json (and plots) into it."""
    from rapid_croissant.ml.evaluate import evaluate_run

    result = evaluate_run(run_dir, dataset_dir, n_boot=n_boot, seed=seed, plots=not no_plots)
    click.echo(format_evaluation(result))
    click.echo(f"written: {run_dir}/evaluation.json {' '.join(result.get('plots', []))}")


def _num(value, fmt=".3f") -> str:
    return "n/a" if value is None or value != value else format(value, fmt)


def format_evaluation(result: dict) -> str:
    """Text summary of :func:`rapid_croissant.ml.evaluate.evaluate_run`'s result."""
    cls = result["classification"]
    lines = [
        f"{result['algorithm']} / {result['model']} / protocol {result['protocol']}: "
        f"{cls['n']} test candidates ({cls['n_real']} real) in {cls['n_jobs']} job(s), "
        f"threshold {result['threshold']:.4f}"
    ]
    if result.get("note"):
        lines.append(f"note: {result['note']}")
    for name, m in cls.get("metrics", {}).items():
        lines.append(f"  {name:<20} {_num(m['value'])}  [{_num(m['low'])}, {_num(m['high'])}]")
    for name, c in result.get("completeness", {}).items():
        lines.append(
            f"  {name:<22} detected {c['n_detected']}/{c['n_truth']}  m50 {_num(c['m50'], '.2f')}"
            f"  m80 {_num(c['m80'], '.2f')}"
        )
    for stage in ("detection", "classifier"):
        fp = result.get("false_positives", {}).get(stage)
        if fp:
            lines.append(f"  false positives per image after {stage}: {_num(fp['fp_per_image'], '.2f')}")
    return "\n".join(lines)
