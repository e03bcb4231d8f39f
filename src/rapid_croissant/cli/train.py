"""``rapid-croissant train``: train a real/bogus classifier on a built dataset and save a run folder."""

from __future__ import annotations

import click

from rapid_croissant.cli.options import dataset_option

_ALGORITHMS = ("zogy", "sfft", "both")


@click.command("train")
@dataset_option
@click.option(
    "-a",
    "--algorithm",
    type=click.Choice(_ALGORITHMS),
    default="both",
    show_default=True,
    help="Candidates, channels and features of one algorithm, or both (the union).",
)
@click.option(
    "--model",
    type=click.Choice(("cnn", "gbt")),
    default="cnn",
    show_default=True,
    help="cnn: small CNN on cutouts + features; gbt: gradient-boosted trees on features.",
)
@click.option(
    "--protocol",
    type=click.Choice(("A", "B")),
    default="A",
    show_default=True,
    help="A: each algorithm's own detections; B: only candidates detected by both.",
)
@click.option(
    "--epochs", type=click.IntRange(min=1), default=30, show_default=True, help="CNN epochs (at most)."
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--runs",
    "run_root",
    type=click.Path(file_okay=False),
    default="runs",
    show_default=True,
    help="Folder in which the time-stamped run folder is created.",
)
@click.option("--no-augment", is_flag=True, help="Train the CNN without random rotations/flips.")
def command(dataset_dir, algorithm, model, protocol, epochs, seed, run_root, no_augment):
    """Train on the train split, early-stop and pick the threshold on val, report on test."""
    import json

    from rapid_croissant.ml.train import TrainConfig, train

    config = TrainConfig(
        algorithm=algorithm, model=model, protocol=protocol, epochs=epochs, seed=seed, augment=not no_augment
    )
    run = train(dataset_dir, config, run_root=run_root)
    metrics = json.loads((run / "metrics.json").read_text())
    test = metrics["test"]
    click.echo(f"run folder: {run}")
    click.echo(f"threshold (chosen on val): {metrics['threshold']:.4f}")
    click.echo(f"test: {test['n']} candidates ({test['n_pos']} real) in {test['n_jobs']} job(s)")
    for key in (
        "roc_auc",
        "average_precision",
        "balanced_accuracy",
        "mcc",
        "fpr_at_fnr_5pct",
        "mdr_at_fpr_1pct",
    ):
        value = test.get(key)
        click.echo(f"  {key:<20} {'n/a' if value is None else f'{value:.4f}'}")
    click.echo(f"intervals and completeness: rapid-croissant evaluate {run} -d {dataset_dir}")
