"""``rapid-croissant compare``: train and evaluate every combination and compare ZOGY with SFFT."""

from __future__ import annotations

import click

from rapid_croissant.cli.options import dataset_option

_SPLIT = click.Choice(("zogy", "sfft", "both"))


@click.command("compare")
@dataset_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="comparison",
    show_default=True,
    help="Folder for the runs, comparison.json and comparison.md.",
)
@click.option(
    "--models",
    multiple=True,
    type=click.Choice(("gbt", "cnn")),
    default=("gbt", "cnn"),
    show_default=True,
    help="Repeat to give several.",
)
@click.option("--algorithms", multiple=True, type=_SPLIT, default=("zogy", "sfft", "both"), show_default=True)
@click.option(
    "--protocols", multiple=True, type=click.Choice(("A", "B")), default=("A", "B"), show_default=True
)
@click.option(
    "--epochs", type=click.IntRange(min=1), default=30, show_default=True, help="CNN epochs (at most)."
)
@click.option("--n-boot", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--cv",
    type=click.IntRange(min=2),
    default=None,
    help="Grouped K-fold cross-validation by sky field instead of the dataset's splits (small datasets).",
)
@click.option(
    "--cross-features",
    is_flag=True,
    help="ZOGY/SFFT models also see the other algorithm's features of each candidate.",
)
def command(dataset_dir, out_dir, models, algorithms, protocols, epochs, n_boot, seed, cv, cross_features):
    """Train + evaluate each model/protocol/algorithm and write the "which wins" tables."""
    from rapid_croissant.ml.compare import compare
    from rapid_croissant.ml.run import ComparisonFolder

    compare(
        dataset_dir,
        out_dir=out_dir,
        models=models,
        algorithms=algorithms,
        protocols=protocols,
        n_boot=n_boot,
        epochs=epochs,
        seed=seed,
        cv=cv,
        cross_features=cross_features,
    )
    folder = ComparisonFolder(out_dir)
    click.echo(folder.markdown.read_text())
    click.echo(f"written: {folder.json}, {folder.markdown}, runs in {folder.path / 'runs'}")
