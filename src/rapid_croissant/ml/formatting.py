"""Numbers as people read them: one definition for the CLI, the Markdown tables and the report."""

from __future__ import annotations

import math

__all__ = ["fmt_interval", "fmt_number", "markdown_table"]


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def fmt_number(value, fmt: str = ".3f") -> str:
    """A float formatted, an int or text as is, 'n/a' for None (NaN as read back from JSON), NaN or inf."""
    if isinstance(value, int | str) and not isinstance(value, bool):
        return str(value)
    return format(value, fmt) if _finite(value) else "n/a"


def fmt_interval(entry: dict | float | None, fmt: str = ".3f") -> str:
    """``value [low, high]`` of a ``{"value", "low", "high"}`` entry; the bare value when the interval is
    missing, 'n/a' (with the entry's ``reason`` when it has one) when the value is."""
    if not isinstance(entry, dict):
        return fmt_number(entry, fmt)
    value, low, high = (entry.get(k) for k in ("value", "low", "high"))
    if not _finite(value):
        return "n/a" + (f" ({entry['reason']})" if entry.get("reason") else "")
    if not (_finite(low) and _finite(high)):
        return fmt_number(value, fmt)
    return f"{fmt_number(value, fmt)} [{fmt_number(low, fmt)}, {fmt_number(high, fmt)}]"


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A GitHub-flavoured Markdown table of ``rows`` (dicts of already formatted cells)."""
    columns = columns or (list(rows[0]) if rows else [])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)
