"""Fixtures of the io tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def job(tmp_path):
    """An empty job folder, ``jid5``."""
    path = tmp_path / "jid5"
    path.mkdir()
    return path
