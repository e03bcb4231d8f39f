"""Text from FITS headers, catalogs, job notes or config files is data, never markup.

``html_text`` is for report.html; ``md_text`` for DATASET_CARD.md: it escapes HTML (Markdown renderers pass
raw HTML through) and every Markdown punctuation character, and turns line breaks and table pipes into
harmless text, so a FILTER keyword like ``<script>`` or ``[x](javascript:...)`` shows as typed.
"""

from __future__ import annotations

import html
import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#|~])")


def html_text(value) -> str:
    return html.escape(str(value), quote=True)


def md_text(value) -> str:
    """``value`` as literal text inside Markdown (also inside a table cell)."""
    text = " ".join(str(value).split())  # no line breaks: one line, one table row
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
