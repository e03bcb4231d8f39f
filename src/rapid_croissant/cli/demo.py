"""``rapid-croissant demo``: the main job end to end on simulated RAPID jobs (what ``make demo`` runs).

simulate -> build -> Croissant metadata -> validate -> dataset card -> train/evaluate/compare -> report.
Re-running reuses what is already built (simulated jobs, built jobs, a finished comparison).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from rapid_croissant.dataset import Layout


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


def _headline(comparison: dict) -> list[str]:
    from rapid_croissant.report.page import fmt_number as f

    lines = []
    for p in comparison.get("paired", []):
        if p["comparison"] == "zogy vs sfft" and p["metric"] in ("roc_auc", "average_precision"):
            lines.append(
                f"  {p['model']:>3} protocol {p['protocol']} {p['metric']}: ZOGY {f(p['a'], '.3f')} vs SFFT "
                f"{f(p['b'], '.3f')}, difference {f(p['diff'], '+.3f')} [{f(p['low'], '+.3f')}, "
                f"{f(p['high'], '+.3f')}] -> {p['verdict']}"
            )
    return lines


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="demo_output",
    show_default=True,
    help="Folder for the simulated jobs, the dataset, the runs and the report.",
)
@click.option(
    "-n",
    "--n-jobs",
    "n",
    type=click.IntRange(min=3),
    default=32,
    show_default=True,
    help="Simulated jobs (32 give 5 test jobs: the fewest for job-bootstrap intervals).",
)
@click.option("--size", type=click.IntRange(min=128), default=512, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--epochs", type=click.IntRange(min=1), default=15, show_default=True, help="CNN epochs (early stopping)."
)
@click.option(
    "--n-boot",
    type=click.IntRange(min=100),
    default=1000,
    show_default=True,
    help="Bootstrap resamples of test jobs for the intervals.",
)
def command(out_dir, n, size, seed, epochs, n_boot):
    """Simulate RAPID jobs and run the whole pipeline on them, printing where everything is."""
    from rapid_croissant.config import BuildConfig
    from rapid_croissant.dataset.validate import validate_dataset
    from rapid_croissant.ml.compare import compare
    from rapid_croissant.pipeline.pipeline import build_dataset
    from rapid_croissant.report.card import write_dataset_card
    from rapid_croissant.report.page import write_report
    from rapid_croissant.simulate.core import simulate_jobs
    from rapid_croissant.writers.croissant import write_croissant

    t0 = time.perf_counter()
    out = Path(out_dir)
    jobs_dir, dataset = out / "rapid_jobs", out / "dataset"
    _step(f"1/6 simulate {n} RAPID jobs ({size}x{size}, real ZOGY and SFFT)")
    if len(list(jobs_dir.glob("jid*"))) >= n:
        click.echo(f"reusing the simulated jobs in {jobs_dir}")
    else:
        simulate_jobs(jobs_dir, n=n, size=size, seed=seed)
    _step("2/6 build the dataset")
    summary = build_dataset(BuildConfig(input_dir=jobs_dir, output_dir=dataset))
    click.echo(f"{summary.n_candidates} candidates; jobs: {summary.counts()}")
    _step("3/6 Croissant metadata and validation")
    click.echo(f"wrote {write_croissant(dataset)}")
    problems = validate_dataset(dataset)
    click.echo("validation: no problems" if not problems else "\n".join(map(str, problems)))
    click.echo(f"wrote {write_dataset_card(dataset)}")
    _step("4/6 train and evaluate zogy, sfft and both (CNN and gradient-boosted trees)")
    comp_dir = dataset / "comparison"
    comp_json = comp_dir / "comparison.json"
    if comp_json.is_file():
        click.echo(f"reusing the comparison in {comp_dir} (delete it to retrain)")
        comparison = json.loads(comp_json.read_text())
    else:
        comparison = compare(
            dataset, out_dir=comp_dir, epochs=epochs, n_boot=n_boot, seed=seed, progress=True
        )
    _step("5/6 report")
    report = write_report(dataset, comparison=comp_json)
    _step("6/6 done")
    click.echo(
        f"simulated jobs : {jobs_dir}\ndataset        : {dataset}\n"
        f"Croissant      : {Layout(dataset).croissant_json}\n"
        f"dataset card   : {Layout(dataset).dataset_card}\ncomparison     : {comp_dir / 'comparison.md'}\n"
        f"report         : {report}"
    )
    click.echo("\nHeadline, ZOGY vs SFFT (test jobs, 95 % job-bootstrap intervals):")
    click.echo("\n".join(_headline(comparison)) or "  (no finished pair of runs)")
    click.echo(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if problems or summary.failed:
        raise SystemExit(1)
