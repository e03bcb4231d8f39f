"""Rewrite one marked section of BENCHMARKS.md, leaving every byte outside its markers as it was.

Each section script (bench_scale via scale_model, bench_transfer, bench_pretrain) owns the text between its
``<!-- name:start -->`` and ``<!-- name:end -->`` markers; ``make bench`` owns the rest of the file.
"""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, section: str, start: str, end: str) -> None:
    """Put ``section`` (which begins with ``start`` and ends with ``end``) in place of the old one, or
    append it when the file has no such section yet."""
    section = section.rstrip("\n")
    text = path.read_text() if path.is_file() else "# Benchmarks\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
