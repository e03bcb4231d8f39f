"""How numbers are written in text output (CLI summaries, the report, the composition table)."""

from __future__ import annotations

import math
import numbers

__all__ = ["fmt_number"]


def fmt_number(value, fmt: str = ".3f") -> str:
    """``value`` formatted with ``fmt``; 'n/a' for None, NaN and infinities (JSON stores NaN as null).

    Integers (counts) are written as integers whatever ``fmt``; text is returned as it is.
    """
    if value is None:
        return "n/a"
    if isinstance(value, str | bool) or isinstance(value, numbers.Integral):
        return str(value)
    value = float(value)
    return format(value, fmt) if math.isfinite(value) else "n/a"
