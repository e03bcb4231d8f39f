"""Options shared by several commands."""

from __future__ import annotations

import click

#: ``-d/--dataset``: a dataset folder written by ``rapid-croissant build``.
dataset_option = click.option(
    "-d",
    "--dataset",
    "dataset_dir",
    type=click.Path(exists=True, file_okay=False),
    required=True,
    help="Dataset folder written by `rapid-croissant build`.",
)
