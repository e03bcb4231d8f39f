"""The ``rapid-croissant`` command: thin click commands over the library (one module per verb)."""

from __future__ import annotations

import logging
import sys

import click

from rapid_croissant import __version__
from rapid_croissant.errors import RapidCroissantError


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose < 0 else (logging.INFO if verbose == 0 else logging.DEBUG)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True
    )
    logging.captureWarnings(True)


class CleanErrors(click.Group):
    """Turn library errors into one clean line and exit code 1 instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RapidCroissantError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(1)


@click.group(cls=CleanErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rapid-croissant")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
def cli(verbose: int, quiet: bool) -> None:
    """Turn RAPID ZOGY/SFFT difference-imaging jobs into an AI-ready, Croissant-described dataset,
    and train, evaluate and compare real/bogus classifiers for the two algorithms."""
    setup_logging(-1 if quiet else verbose)


def _register() -> None:
    from rapid_croissant.cli import (
        build,
        compare,
        composition,
        croissant,
        demo,
        evaluate,
        export,
        report,
        simulate,
        train,
        validate,
    )

    for mod in (
        simulate,
        build,
        croissant,
        validate,
        export,
        composition,
        train,
        evaluate,
        compare,
        report,
        demo,
    ):
        cli.add_command(mod.command)


_register()

if __name__ == "__main__":  # pragma: no cover
    cli()
