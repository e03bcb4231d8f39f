"""``rapid-croissant croissant`` (and the seed's ``generate_croissant.py``): write croissant.json."""

from __future__ import annotations

import click

from rapid_croissant.dataset import layout as names


@click.command("croissant")
@click.option(
    "-d",
    "--dataset_dir",
    "--dataset-dir",
    "dataset_dir",
    type=click.Path(file_okay=False, exists=True),
    default="./hackathon_dataset",
    show_default=True,
    help="Dataset folder written by `build`.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"Where to write the Croissant file [default: DATASET_DIR/{names.CROISSANT_JSON}].",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="TOML file of publisher values (see rapid_croissant/data/croissant_defaults.toml).",
)
@click.option("--url", default=None, help="Landing page of the dataset (DOI, Zenodo or Hugging Face URL).")
@click.option(
    "--license",
    "license_",
    default=None,
    help="Licence URL (SPDX), e.g. https://spdx.org/licenses/CC-BY-4.0.html.",
)
@click.option("--creator", default=None, help="Name of the dataset creator.")
@click.option("--version", "version", default=None, help="Dataset version (semantic versioning, e.g. 1.0.0).")
@click.option(
    "--base-url",
    default=None,
    help="Published flavour: absolute URL of the dataset folder; every file gets <URL>/<path> "
    "(e.g. https://huggingface.co/datasets/ORG/NAME/resolve/main).",
)
@click.option(
    "--repo-url",
    default=None,
    help="Published flavour: git URL of the dataset folder, holding the per-split files "
    "[default: --base-url] (e.g. https://huggingface.co/datasets/ORG/NAME).",
)
@click.option(
    "--keep-manifests", is_flag=True, help="Reuse the manifest tables instead of hashing every file again."
)
def command(
    dataset_dir, output, config_path, url, license_, creator, version, base_url, repo_url, keep_manifests
):
    """Write the manifests and the Croissant 1.1 + RAI metadata of a built dataset."""
    from rapid_croissant.dataset.ownership import dataset_lock, is_dataset, record_layout
    from rapid_croissant.writers.croissant import write_croissant

    with dataset_lock(dataset_dir):  # one writer at a time (a build, another croissant)
        path = write_croissant(
            dataset_dir,
            output,
            config_path=config_path,
            refresh_manifests=not keep_manifests,
            url=url,
            license=license_,
            creator_name=creator,
            version=version,
            content_base_url=base_url,
            repo_url=repo_url,
        )
        if is_dataset(dataset_dir):
            record_layout(dataset_dir)
    click.echo(f"wrote {path}")
    click.echo(f"check it with: rapid-croissant validate {dataset_dir}")
