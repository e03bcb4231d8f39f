"""Publisher values are checked before they reach croissant.json, the BibTeX entry or the dataset card.

URLs must be http(s) with a host: a ``javascript:``, ``file:`` or ``data:`` URL would be a link a catalogue
renders and a user clicks. Required fields must not be empty (or only spaces), and no value may hold
control characters (a newline in a name would break the BibTeX entry and the card's Markdown).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from rapid_croissant.errors import ConfigError

#: Values that are URLs (``same_as``: a comma-separated list of them). Empty means "not set".
URL_KEYS = (
    "url",
    "license",
    "creator_url",
    "publisher_url",
    "content_base_url",
    "openuniverse_url",
    "rapid_url",
)
LIST_URL_KEYS = ("same_as",)
#: Values a published dataset cannot do without.
REQUIRED_KEYS = ("name", "url", "license", "version", "creator_name")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def url_problem(value: str) -> str | None:
    """Why ``value`` is not an acceptable public URL, or None."""
    try:
        parts = urlsplit(value.strip())
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return f"must be an http(s) URL, got scheme {parts.scheme or 'none'!r}"
    if not parts.netloc or any(c.isspace() for c in value.strip()):
        return "must be an http(s) URL with a host and no spaces"
    return None


def check_publisher_values(values: dict) -> None:
    """Raise ConfigError naming every bad publisher value at once."""
    problems = []
    for key in REQUIRED_KEYS:
        if not str(values.get(key, "")).strip():
            problems.append(f"{key}: must not be empty")
    for key, value in values.items():
        if _CONTROL.search(str(value)) or (key != "cite_as" and "\n" in str(value)):
            problems.append(f"{key}: control characters or line breaks are not allowed")
    for key in URL_KEYS:
        value = str(values.get(key, "")).strip()
        if value and (why := url_problem(value)):
            problems.append(f"{key}: {why}")
    for key in LIST_URL_KEYS:
        for item in filter(None, (v.strip() for v in str(values.get(key, "")).split(","))):
            if why := url_problem(item):
                problems.append(f"{key}: {item!r} {why}")
    if problems:
        raise ConfigError("publisher values: " + "; ".join(problems))
