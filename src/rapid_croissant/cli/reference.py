"""Generate the README's CLI reference from the click commands themselves.

``python -m rapid_croissant.cli.reference --write README.md`` rewrites the block between the
``<!-- cli-reference:start -->`` and ``<!-- cli-reference:end -->`` markers; a test keeps it current.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import click

START, END = "<!-- cli-reference:start -->", "<!-- cli-reference:end -->"


def _help(cmd: click.Command, name: str) -> str:
    ctx = click.Context(
        cmd, info_name=name, terminal_width=110, max_content_width=110, help_option_names=["-h", "--help"]
    )  # as the group sets for every command
    return cmd.get_help(ctx)


def cli_reference_markdown() -> str:
    """Markdown with the --help of the group and of every command, in alphabetical order."""
    from rapid_croissant.cli.main import cli

    parts = ["### `rapid-croissant`", "", "```text", _help(cli, "rapid-croissant"), "```", ""]
    for name in sorted(cli.commands):
        parts += [
            f"### `rapid-croissant {name}`",
            "",
            "```text",
            _help(cli.commands[name], f"rapid-croissant {name}"),
            "```",
            "",
        ]
    return "\n".join(parts)


def replace_block(text: str, block: str) -> str:
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"markers {START} ... {END} not found")
    return pattern.sub(lambda _: f"{START}\n{block}\n{END}", text)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write", type=Path, help="rewrite the reference block of this Markdown file")
    args = ap.parse_args(argv)
    block = cli_reference_markdown()
    if args.write:
        args.write.write_text(replace_block(args.write.read_text(), block))
    else:
        print(block)


if __name__ == "__main__":
    main()
