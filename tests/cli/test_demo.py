"""`rapid-croissant demo`, small and fast: three simulated jobs (reused), gradient-boosted trees only."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from rapid_croissant.cli.main import cli


@pytest.mark.slow  # about 1-2 minutes on 2 shared cores: build, validate, 6 tree runs, report, twice
def test_demo_runs_end_to_end_on_reused_jobs(sim_2025, tmp_path):
    jobs = tmp_path / "demo" / "rapid_jobs"
    shutil.copytree(sim_2025, jobs)
    args = ["demo", "--out", str(tmp_path / "demo"), "-n", "3", "--models", "gbt", "--n-boot", "100"]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code in (0, 1), out.output  # 1 only when the defect jobs make the build report failures
    assert "reusing the simulated jobs" in out.output and "6/6 done" in out.output
    dataset = tmp_path / "demo" / "dataset"
    for name in ("croissant.json", "DATASET_CARD.md", "report.html", "comparison/comparison.md"):
        assert (dataset / name).is_file(), name
    comparison = json.loads((dataset / "comparison" / "comparison.json").read_text())
    assert {r["model"] for r in comparison["runs"]} == {"gbt"}
    assert "Headline, ZOGY vs SFFT" in out.output
    # a second run reuses the comparison instead of retraining
    again = CliRunner().invoke(cli, args)
    assert "reusing the comparison" in again.output
