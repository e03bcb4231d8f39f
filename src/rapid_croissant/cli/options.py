"""Options shared by several commands."""

from __future__ import annotations

import click

from rapid_croissant.config import DEVICES

#: ``-d/--dataset``: a dataset folder written by ``rapid-croissant build``.
dataset_option = click.option(
    "-d",
    "--dataset",
    "dataset_dir",
    type=click.Path(exists=True, file_okay=False),
    required=True,
    help="Dataset folder written by `rapid-croissant build`.",
)

#: ``--device``: where a CNN trains or scores (trees always use the CPU).
device_option = click.option(
    "--device",
    type=click.Choice(DEVICES),
    default="cpu",
    show_default=True,
    help="Where the CNN runs: auto picks cuda, then mps, then cpu.",
)
