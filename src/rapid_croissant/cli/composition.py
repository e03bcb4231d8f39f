"""``rapid-croissant composition``: what a built dataset holds, per split."""

from __future__ import annotations

import click

from rapid_croissant.cli.options import dataset_option


@click.command("composition")
@dataset_option
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
