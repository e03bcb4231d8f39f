"""``rapid-croissant validate``: every problem of a built dataset and its croissant.json."""

from __future__ import annotations

import collections
import contextlib
import logging
import time

import click

from rapid_croissant.dataset import layout as names


class _DropLibraryInfo(logging.Filter):
    """mlcroissant logs every operation at INFO on the root and absl loggers: keep only their warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name not in ("root", "absl")


@contextlib.contextmanager
def _quiet_mlcroissant():
    handlers, quiet = logging.getLogger().handlers, _DropLibraryInfo()
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)


@click.command("validate")
@click.argument("dataset_dir", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--croissant",
    "croissant_path",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"Croissant file to check [default: DATASET_DIR/{names.CROISSANT_JSON}].",
)
@click.option("--no-hashes", is_flag=True, help="Compare file sizes only, do not recompute sha256.")
@click.option(
    "--no-mlcroissant", is_flag=True, help="Skip mlcroissant's validation and record loading (faster)."
)
def command(dataset_dir, croissant_path, no_hashes, no_mlcroissant):
    """Check keys, jobs, splits, manifests, tensors and the Croissant file; exit 1 on any problem."""
    from rapid_croissant.dataset.validate import validate_dataset

    t0 = time.perf_counter()
    with _quiet_mlcroissant():
        problems = validate_dataset(
            dataset_dir,
            croissant_path=croissant_path,
            check_hashes=not no_hashes,
            run_mlcroissant=not no_mlcroissant,
        )
    for problem in problems:
        click.echo(str(problem))
    took = f"{time.perf_counter() - t0:.1f} s"
    if not problems:
        click.echo(f"{dataset_dir}: no problems found ({took})")
        return
    kinds = collections.Counter(p.kind for p in problems)
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    click.echo(f"{dataset_dir}: {len(problems)} problem(s): {summary} ({took})", err=True)
    raise SystemExit(1)
