"""``rapid-croissant demo``: the main job end to end on simulated RAPID jobs (what ``make demo`` runs)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="demo_output",
    show_default=True,
    help="Folder for the simulated jobs, the dataset and the report.",
)
@click.option("-n", "--n-jobs", "n", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--size", type=click.IntRange(min=64), default=512, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
def command(out_dir, n, size, seed):
    """Simulate RAPID jobs and run the pipeline on them, printing where everything is."""
    from rapid_croissant.simulate.core import simulate_jobs

    out = Path(out_dir)
    jobs_dir = out / "rapid_jobs"
    if not any(jobs_dir.glob("jid*")):
        jobs = simulate_jobs(jobs_dir, n=n, size=size, seed=seed)
        click.echo(f"simulated {len(jobs)} RAPID jobs in {jobs_dir}")
    else:
        click.echo(f"reusing the simulated jobs in {jobs_dir}")
    for p in sorted(jobs_dir.glob("jid*")):
        click.echo(f"  {p.name}: {len(list(p.iterdir()))} files")
