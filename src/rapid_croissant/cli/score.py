"""``rapid-croissant score``: score every candidate of a dataset with a trained run."""

from __future__ import annotations

import click

from rapid_croissant.cli.options import dataset_option, device_option


@click.command("score")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@dataset_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Parquet file to write [default: DATASET/scores/<run folder name>.parquet].",
)
@device_option
@click.option(
    "--tta/--no-tta",
    default=None,
    help="CNN: average the 8 rotations/flips of each cutout [default: as the run was evaluated].",
)
def command(run_dir, dataset_dir, output, device, tta):
    """Write each candidate's score and predicted label (at the run's threshold); works without truth."""
    import pandas as pd

    from rapid_croissant.ml.score import score_dataset

    path = score_dataset(run_dir, dataset_dir, output=output, device=device, tta=tta)
    table = pd.read_parquet(path, columns=["label", "predicted"])
    unknown = int((table["label"] < 0).sum())
    click.echo(
        f"scored {len(table)} candidates ({unknown} without truth): {int(table['predicted'].sum())} "
        f"predicted real at the run's threshold"
    )
    click.echo(f"written: {path}")
