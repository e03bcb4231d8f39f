"""``rapid-croissant report``: the self-contained HTML report of any built dataset."""

from __future__ import annotations

from pathlib import Path

import click

from rapid_croissant.dataset import layout as names


@click.command("report")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--comparison",
    type=click.Path(exists=True),
    default=None,
    help="comparison.json (or its folder) from `rapid-croissant compare` [default: DATASET/comparison/].",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"[default: DATASET/{names.REPORT_HTML}]",
)
@click.option(
    "--card/--no-card", default=True, show_default=True, help=f"Also (re)write {names.DATASET_CARD}."
)
def command(dataset, comparison, output, card):
    """Write report.html (composition, cutout gallery, ROC, completeness, false positives, comparison)."""
    from rapid_croissant.dataset.ownership import dataset_lock, is_dataset, record_inventory
    from rapid_croissant.report.card import write_dataset_card
    from rapid_croissant.report.page import write_report

    with dataset_lock(dataset):  # one writer of the dataset at a time
        written = []
        if card:
            written.append(write_dataset_card(dataset, comparison))
            click.echo(f"wrote {written[-1]}")
        written.append(write_report(dataset, comparison=comparison, output=output))
        click.echo(f"wrote {written[-1]}")
        if is_dataset(dataset):
            inside = [p for p in map(Path, written) if Path(dataset).resolve() in p.resolve().parents]
            record_inventory(dataset, [p.resolve().relative_to(Path(dataset).resolve()) for p in inside])
