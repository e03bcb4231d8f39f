"""``rapid-croissant pretrain``: train the CNN on many simulated domains; write weights and a model card."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import sys
from pathlib import Path

import click

log = logging.getLogger(__name__)


def _complete(folder: Path, group) -> bool:
    done = all((folder / jid).is_dir() for jid in group.jids())
    return done and (folder / "answer_key" / "simulation.json").is_file()


def simulate_groups(work: str | Path, groups: list, *, size: int = 512, progress: bool = True) -> Path:
    """Simulate every group (reusing complete ones) and hard-link its jobs into ``WORK/jobs``."""
    from tqdm.auto import tqdm

    from rapid_croissant.ml.pretrain_data import EPOCHS_PER_FIELD, write_plan
    from rapid_croissant.simulate.core import simulate_jobs

    work = Path(work)
    jobs_dir = work / "jobs"
    jobs_dir.mkdir(parents=True, exist_ok=True)
    for g in tqdm(groups, desc="simulating domains", unit="domain", disable=not progress):
        out = work / "sim" / g.name
        if not _complete(out, g):
            simulate_jobs(
                out,
                n=g.n_jobs,
                size=size,
                seed=g.seed,
                era=g.era,
                domain=g.domain,
                domain_seed=g.domain_seed,
                density=g.density,
                epochs_per_field=EPOCHS_PER_FIELD,
                first_jid=g.first_jid,
                progress=False,
            )
            log.info("simulated %d jobs of domain %s into %s", g.n_jobs, g.name, out)
        for jid in g.jids():
            if not (jobs_dir / jid).exists():
                shutil.copytree(out / jid, jobs_dir / jid, copy_function=os.link)
    write_plan(work, groups, size=size)
    return jobs_dir


def build_pretrain_dataset(work: str | Path, *, workers: int = 2, progress: bool = True) -> Path:
    """Build (or resume) ``WORK/dataset`` from ``WORK/jobs``; a failed job is an error naming it."""
    from rapid_croissant.config import BuildConfig
    from rapid_croissant.errors import RapidCroissantError
    from rapid_croissant.pipeline.pipeline import build_dataset

    work = Path(work)
    out = work / "dataset"
    summary = build_dataset(
        BuildConfig(input_dir=work / "jobs", output_dir=out, workers=workers), progress=progress
    )
    if summary.failed:
        first = summary.failed[0]
        raise RapidCroissantError(f"{work / 'jobs'}: {len(summary.failed)} job(s) failed, e.g. {first.error}")
    return out


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
    from rapid_croissant.ml.pretrain_data import PLAN_FILE, load_plan, plan_groups

    progress = not no_progress and sys.stderr.isatty()
    if dataset_dir is None:
        groups = plan_groups(
            n_domains=n_domains, jobs_per_domain=jobs_per_domain, n_heldout=n_heldout, seed=seed
        )
        simulate_groups(work, groups, progress=progress)
        dataset = build_pretrain_dataset(work, workers=workers, progress=progress)
    else:
        dataset = Path(dataset_dir)
        plan = dataset.parent / PLAN_FILE
        groups = load_plan(plan) if plan.is_file() else None
    cfg = PretrainConfig(
        out=Path(out),
        work=Path(work),
        dataset=dataset,
        n_domains=n_domains,
        jobs_per_domain=jobs_per_domain,
        n_heldout=n_heldout,
        epochs=epochs,
        seed=seed,
        num_threads=num_threads,
        workers=workers,
        command=_command_line(),
    )
    summary = pretrain(cfg, groups)
    click.echo(f"weights: {Path(out) / WEIGHTS_NAME} (sha256 {summary['weights']['sha256']})")
    click.echo(f"model card: {Path(out) / CARD_NAME}")
    for name, m in summary["held_out"].items():
        auc = m["roc_auc"]
        click.echo(
            f"  {name}: ROC AUC {auc['value']:.3f} [{auc['low']:.3f}, {auc['high']:.3f}] "
            f"({m['n_real']}/{m['n']} real, {m['n_jobs']} jobs)"
        )
