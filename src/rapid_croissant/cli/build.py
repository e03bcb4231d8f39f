"""``rapid-croissant build`` (and the seed's ``create_dataset.py``): RAPID jobs -> candidate dataset."""

from __future__ import annotations

import signal

import click
from click.core import ParameterSource

from rapid_croissant.config import EXECUTORS, PROFILES, BuildConfig


def report(summary) -> int:
    """Print the run summary; return the exit code (1 when any job failed)."""
    counts = summary.counts()
    text = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    click.echo(
        f"built {summary.output_dir}: {summary.n_candidates} candidates from {len(summary.results)} jobs "
        f"({text})"
    )
    for r in summary.results:
        if r.status == "partial":
            click.echo(f"  partial {r.jid}: " + "; ".join(r.warnings), err=True)
    for r in summary.failed:
        click.echo(f"  FAILED {r.jid}: {r.error}", err=True)
    return 1 if summary.failed else 0


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def run_build(config_path=None, defaults=None, **options) -> int:
    """Build with ``options`` over the TOML file ``config_path`` over ``defaults``; return the exit code."""
    from rapid_croissant.pipeline.pipeline import build_dataset

    if config_path is None:
        cfg = BuildConfig.from_dict({**(defaults or {}), **options})
    else:
        cfg = BuildConfig.from_toml(config_path, defaults=defaults, **options)
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)  # SIGTERM ends like Ctrl-C: resumable
    try:
        return report(build_dataset(cfg))
    finally:
        signal.signal(signal.SIGTERM, previous)


def build_options(f):
    """The options shared by ``rapid-croissant build`` and ``create_dataset.py``."""
    opts = [
        click.option(
            "-i",
            "--input_dir",
            "--input-dir",
            "input_dir",
            type=click.Path(file_okay=False),
            default="./mini_dataset",
            show_default=True,
            help="Folder containing jid* job folders, or an fsspec URL (s3://bucket/prefix/, gs://, https://).",
        ),
        click.option(
            "-o",
            "--output_dir",
            "--output-dir",
            "output_dir",
            type=click.Path(file_okay=False),
            default="./hackathon_dataset",
            show_default=True,
            help="Output dataset folder.",
        ),
        click.option(
            "--match-radius",
            type=float,
            default=4.0,
            show_default=True,
            help="Detection-truth match radius (pixels), one-to-one, closest pairs first.",
        ),
        click.option(
            "--merge-radius",
            type=float,
            default=1.5,
            show_default=True,
            help="ZOGY-SFFT merge radius (pixels), mutual nearest neighbours.",
        ),
        click.option(
            "--mag-limit",
            type=float,
            default=26.0,
            show_default=True,
            help="Only truth brighter than this AB magnitude can make a detection real.",
        ),
        click.option(
            "--min-truth-snr",
            type=float,
            default=0.0,
            show_default=True,
            help="Also require this expected S/N of the truth in the algorithm's difference (0: off).",
        ),
        click.option(
            "--truth-origin",
            type=float,
            default=1.0,
            show_default=True,
            help="Pixel origin of the truth files (RAPID: 1-based).",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help="Parallel workers [default: all cores].",
        ),
        click.option("--executor", type=click.Choice(EXECUTORS), default="process", show_default=True),
        click.option(
            "--scheduler", default=None, help="Address of an existing Dask scheduler (with --executor dask)."
        ),
        click.option(
            "--jobs",
            "jobs",
            multiple=True,
            help="Only these jobs (repeatable): --jobs jid1001 --jobs jid1002.",
        ),
        click.option(
            "--no-full-images",
            "full_images",
            flag_value=False,
            default=True,
            help="Do not write the full-frame 9-channel tensors (and masks).",
        ),
        click.option("--overwrite", is_flag=True, help="Rebuild every job, even those already built."),
        click.option(
            "--prune",
            is_flag=True,
            help="Remove from the dataset the jobs whose folders are no longer in the input.",
        ),
        click.option(
            "--follow-symlinks",
            is_flag=True,
            help="Also read files that are symlinks leaving their job folder (not followed by default).",
        ),
        click.option(
            "--cutouts", is_flag=True, help="Also write the per-split 64x64x9 cutout store (cutouts/)."
        ),
        click.option(
            "--cutout-dtype",
            type=click.Choice(["float32", "float16", "uint8"]),
            default=None,
            help="Cutout store dtype (uint8: [0,1] values x 255, 4x smaller) [default: float32; uint8 with "
            "--profile cutouts].",
        ),
        click.option(
            "--profile",
            type=click.Choice(PROFILES),
            default="full",
            show_default=True,
            help="full: the seed's full-frame tensors; cutouts: tables + cutout store + frames/ only.",
        ),
        click.option(
            "--storage-options",
            default=None,
            help='fsspec options of a remote input, as JSON, e.g. \'{"endpoint_url": "http://host:9000"}\'.',
        ),
        click.option("--anon", is_flag=True, help="Read a remote input anonymously (public buckets)."),
        click.option(
            "--include-fading",
            is_flag=True,
            help="Also add RAPID's negative (*_negative catalog) detections as candidates with sign -1.",
        ),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


@click.command("build")
@build_options
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="TOML file of build options named as above (match_radius = 3.0; top level or a [build] table); "
    "options given on the command line win.",
)
@click.pass_context
def command(ctx, config_path, **options):
    """Build the unified ZOGY+SFFT candidate dataset from RAPID job folders."""
    options["jobs"] = tuple(options["jobs"]) or None
    # the file's values win over the defaults, the command line over both
    default = {k for k in options if ctx.get_parameter_source(k) == ParameterSource.DEFAULT}
    defaults = {k: v for k, v in options.items() if k in default}
    given = {k: v for k, v in options.items() if k not in default}
    raise SystemExit(run_build(config_path, defaults, **given))
