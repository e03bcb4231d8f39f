#!/usr/bin/env python
"""Seed-compatible entry point: ``python generate_croissant.py -d ./my_dataset -o
./my_dataset/croissant.json``.

Writes the manifest tables and croissant.json with the same library function as
``rapid-croissant croissant`` (which also takes publisher options: --url, --license, --creator, ...).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate Croissant metadata (croissant.json) for a dataset."
    )
    parser.add_argument("-d", "--dataset_dir", default="./hackathon_dataset", help="dataset folder")
    parser.add_argument(
        "-o", "--output", default=None, help="output path (default: <dataset_dir>/croissant.json)"
    )
    args = parser.parse_args(argv)

    from rapid_croissant.cli.main import setup_logging
    from rapid_croissant.errors import RapidCroissantError
    from rapid_croissant.writers.croissant import write_croissant

    setup_logging(0)
    output = args.output or str(Path(args.dataset_dir) / "croissant.json")
    try:
        path = write_croissant(args.dataset_dir, output)
    except RapidCroissantError as err:
        print(f"error: {err}")
        return 1
    print(f"Croissant metadata written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
