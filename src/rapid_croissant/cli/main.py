"""The ``rapid-croissant`` command: thin click commands over the library (one module per verb)."""

from __future__ import annotations

import logging
import sys

import click

from rapid_croissant import __version__
from rapid_croissant.cli.errors import report_and_exit


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose < 0 else (logging.INFO if verbose == 0 else logging.DEBUG)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True
    )
    logging.captureWarnings(True)


class CleanErrors(click.Group):
    """Turn every error into one clean line naming the file and exit code 1; the traceback only with -vv."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the one place errors become a line
            report_and_exit(exc, verbose=ctx.params.get("verbose") or 0)


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
        pretrain,
        report,
        score,
        simulate,
        train,
        validate,
    )

    commands = (
        simulate,
        build,
        croissant,
        validate,
        export,
        composition,
        pretrain,
        train,
        evaluate,
        score,
        compare,
        report,
        demo,
    )
    for mod in commands:
        cli.add_command(mod.command)


_register()

if __name__ == "__main__":  # pragma: no cover
    cli()
