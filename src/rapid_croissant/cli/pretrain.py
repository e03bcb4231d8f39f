"""``rapid-croissant pretrain``: train the CNN on many simulated domains; write weights and a model card."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click


def _command_line() -> str:
    """The command as typed (from ``pretrain`` on), for the model card."""
    argv = sys.argv
    tail = argv[argv.index("pretrain") + 1 :] if "pretrain" in argv else argv[1:]
    return shlex.join(["rapid-croissant", "pretrain", *tail])


@click.command("pretrain")
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False),
    required=True,
    help="Folder for cnn_v1.pt, its .sha256, MODEL_CARD.md and pretrain_metrics.json.",
)
@click.option(
    "--work",
    type=click.Path(file_okay=False),
    default="pretrain_work",
    show_default=True,
    help="Folder for the simulated jobs (sim/, jobs/), the dataset and the training run; reused when rerun.",
)
@click.option(
    "-d",
    "--dataset",
    "dataset_dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Train on this dataset instead of simulating (held out: its test split, or the domains of a "
    "pretrain_plan.json next to it).",
)
@click.option(
    "--domains",
    "n_domains",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Training domains: default, A, then domains drawn from seeds 1, 2, ... (B is never used).",
)
@click.option("--jobs-per-domain", type=click.IntRange(min=2), default=8, show_default=True)
@click.option(
    "--heldout",
    "n_heldout",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Held-out domains (seeds 1001, ...) measured but never trained on.",
)
@click.option("--epochs", type=click.IntRange(min=1), default=12, show_default=True, help="Epochs at most.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--threads", "num_threads", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True, help="Build workers.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def command(
    out,
    work,
    dataset_dir,
    n_domains,
    jobs_per_domain,
    n_heldout,
    epochs,
    seed,
    num_threads,
    workers,
    no_progress,
):
    """Train the CNN (-a both) reproducibly on a simulated multi-domain set; write weights + model card.

    Simulated data only; the weights are meant as the starting point of `train` (fine-tuning).
    """
    from rapid_croissant.ml.pretrain import CARD_NAME, WEIGHTS_NAME, PretrainConfig, pretrain

    cfg = PretrainConfig(
        out=Path(out),
        work=Path(work),
        dataset=Path(dataset_dir) if dataset_dir else None,
        n_domains=n_domains,
        jobs_per_domain=jobs_per_domain,
        n_heldout=n_heldout,
        epochs=epochs,
        seed=seed,
        num_threads=num_threads,
        workers=workers,
        command=_command_line(),
    )
    summary = pretrain(cfg, progress=not no_progress and sys.stderr.isatty())
    click.echo(f"weights: {Path(out) / WEIGHTS_NAME} (sha256 {summary['weights']['sha256']})")
    click.echo(f"model card: {Path(out) / CARD_NAME}")
    for name, m in summary["held_out"].items():
        auc = m["roc_auc"]
        click.echo(
            f"  {name}: ROC AUC {auc['value']:.3f} [{auc['low']:.3f}, {auc['high']:.3f}] "
            f"({m['n_real']}/{m['n']} real, {m['n_jobs']} jobs)"
        )
