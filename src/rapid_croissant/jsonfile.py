"""Read a JSON file of ours (run config, metrics, build info, store metadata), errors naming the file."""

from __future__ import annotations

import json
from pathlib import Path

from rapid_croissant.errors import ConfigError


def load_json(path: str | Path):
    """The parsed content of ``path``; ConfigError "<path>: corrupt JSON (...)" when it does not parse."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: corrupt JSON ({err})") from err
