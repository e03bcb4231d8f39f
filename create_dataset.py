#!/usr/bin/env python
"""Seed-compatible entry point: ``python create_dataset.py -i ./raw_data -o ./my_dataset``.

Same library function and options as ``rapid-croissant build`` (see ``--help``).
"""

from rapid_croissant.cli.build import command
from rapid_croissant.cli.errors import run_clean
from rapid_croissant.cli.main import setup_logging

if __name__ == "__main__":
    setup_logging(0)
    run_clean(command, prog_name="create_dataset.py")
