"""``rapid-croissant composition``: what a built dataset holds, per split."""

from __future__ import annotations

import click


@click.command("composition")
@click.option(
    "-d",
    "--dataset",
    "dataset_dir",
    type=click.Path(exists=True, file_okay=False),
    required=True,
    help="Dataset folder written by `rapid-croissant build`.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also save the numbers as JSON to this file.",
)
def command(dataset_dir, json_path):
    """Candidates, real/bogus/unknown, injected vs natural reals, filters and ZOGY/SFFT overlap per split."""
    from rapid_croissant.ml.composition import composition, format_composition
    from rapid_croissant.ml.data import write_json

    comp = composition(dataset_dir)
    click.echo(format_composition(comp))
    if json_path:
        write_json(json_path, comp)
        click.echo(f"written: {json_path}")
