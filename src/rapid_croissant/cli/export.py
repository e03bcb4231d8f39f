"""``rapid-croissant export``: the dataset tables as ECSV, VOTable and astropy-convention Parquet."""

from __future__ import annotations

import click


@click.command("export")
@click.option(
    "-d",
    "--dataset-dir",
    "dataset_dir",
    type=click.Path(file_okay=False, exists=True),
    required=True,
    help="Dataset folder written by `build`.",
)
@click.option(
    "--format",
    "formats",
    type=click.Choice(["ecsv", "votable", "parquet"]),
    multiple=True,
    help="Formats to write (repeatable) [default: all three].",
)
def command(dataset_dir, formats):
    """Write export/<table>.{ecsv,vot,parquet} with units and masked missing values (astropy Table.read)."""
    from rapid_croissant.writers.astropy_export import export_tables

    paths = export_tables(dataset_dir, formats or ("ecsv", "votable", "parquet"))
    click.echo(f"wrote {len(paths)} files to {paths[0].parent}")
