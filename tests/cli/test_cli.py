"""Every command has working --help, and the README's CLI reference is generated from the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rapid_croissant.cli.main import cli
from rapid_croissant.cli.reference import END, START, cli_reference_markdown

ROOT = Path(__file__).resolve().parents[2]
SEED_SCRIPTS = ("create_dataset.py", "generate_croissant.py", "test_croissant_dataset.py")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and "--help" in result.output


def test_group_help_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in cli.commands:
        assert name in result.output


@pytest.mark.parametrize("script", SEED_SCRIPTS)
def test_seed_entry_points_have_help(script):
    if not (ROOT / script).exists():
        pytest.fail(f"{script} is missing")
    proc = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "-d" in proc.stdout or "-i" in proc.stdout


def test_readme_cli_reference_is_current():
    readme = (ROOT / "README.md").read_text()
    assert START in readme and END in readme
    block = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == cli_reference_markdown().strip(), (
        "README CLI reference is stale: run `python -m rapid_croissant.cli.reference --write README.md`"
    )
    for name in cli.commands:
        assert f"rapid-croissant {name}" in block
