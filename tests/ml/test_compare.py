"""ZOGY vs SFFT comparison (ml/compare.py and its CLI)."""

from __future__ import annotations

import json
import math

import click
import pytest
from click.testing import CliRunner

from ml_fixtures import write_ml_dataset
from rapid_croissant.cli import compare as compare_cli
from rapid_croissant.ml.compare import COMPARED_METRICS, _verdict, compare, format_comparison


@pytest.fixture(scope="module")
def ml_dataset(tmp_path_factory):
    return write_ml_dataset(tmp_path_factory.mktemp("ml") / "ds")


@pytest.mark.parametrize(
    ("metric", "low", "high", "expected"),
    [
        ("roc_auc", 0.01, 0.05, "zogy better"),
        ("roc_auc", -0.05, -0.01, "sfft better"),
        ("roc_auc", -0.01, 0.02, "no significant difference"),
        ("fpr_at_fnr_5pct", -0.05, -0.01, "zogy better"),
        ("mdr_at_fpr_1pct", 0.01, 0.05, "sfft better"),
        ("roc_auc", math.nan, math.nan, "not available"),
    ],
)
def test_verdict_reads_the_interval(metric, low, high, expected):
    assert _verdict({"low": low, "high": high}, "zogy", "sfft", metric, n_jobs=10) == expected


def test_no_verdict_from_too_few_test_jobs():
    assert (
        _verdict({"low": 0.01, "high": 0.05}, "zogy", "sfft", "roc_auc", n_jobs=3)
        == "undecided: only 3 test jobs"
    )


def test_compare_writes_both_tables_with_intervals(ml_dataset, tmp_path):
    result = compare(
        ml_dataset,
        out_dir=tmp_path,
        models=("gbt", "cnn"),
        algorithms=("zogy", "sfft"),
        protocols=("A",),
        n_boot=100,
        epochs=2,
        seed=0,
        progress=False,
    )
    assert len(result["runs"]) == 4 and all("run" in r for r in result["runs"])
    for r in result["runs"]:
        for m in COMPARED_METRICS:
            entry = r["metrics"][m]
            assert entry["low"] - 1e-9 <= entry["value"] <= entry["high"] + 1e-9
    zs = [p for p in result["paired"] if p["comparison"] == "zogy vs sfft"]
    cg = [p for p in result["paired"] if p["comparison"] == "cnn vs gbt"]
    assert len(zs) == 2 * len(COMPARED_METRICS) and len(cg) == 2 * len(COMPARED_METRICS)
    for p in zs:
        assert p["low"] <= p["high"] and p["diff"] == pytest.approx(p["a"] - p["b"])
        if p["n_jobs"] >= 5:
            assert p["verdict"] in ("zogy better", "sfft better", "no significant difference")
        else:
            assert p["verdict"] == f"undecided: only {p['n_jobs']} test jobs"
    saved = json.loads((tmp_path / "comparison.json").read_text())
    assert saved["paired"][0]["verdict"] == result["paired"][0]["verdict"]
    text = (tmp_path / "comparison.md").read_text()
    assert "## Which wins: zogy vs sfft" in text and "## Which wins: cnn vs gbt" in text
    assert text.count("| gbt | A | zogy |") == 1 and "[" in text and "zogy - sfft [95 % interval]" in text
    assert text == format_comparison(result)
    assert result["plots"] == ["completeness_gbt_A.png", "completeness_cnn_A.png"]
    assert all((tmp_path / name).stat().st_size > 1000 for name in result["plots"])


def test_compare_on_built_dataset_reports_missing_sides(built_dataset, tmp_path):
    # The built fixture's test job has no SFFT products: SFFT metrics are undefined, never invented.
    result = compare(
        built_dataset,
        out_dir=tmp_path,
        models=("gbt",),
        algorithms=("zogy", "sfft"),
        protocols=("A",),
        n_boot=50,
        progress=False,
    )
    by_alg = {r["algorithm"]: r for r in result["runs"]}
    assert by_alg["zogy"]["metrics"]["roc_auc"]["value"] > 0.9
    if by_alg["sfft"].get("n_test", 0) == 0:
        assert all(p["verdict"] == "not available" for p in result["paired"])
        assert "not available" in (tmp_path / "comparison.md").read_text()


def test_cli_compare(ml_dataset, tmp_path):
    group = click.Group()
    group.add_command(compare_cli.command)
    args = [
        "compare",
        "-d",
        str(ml_dataset),
        "--out",
        str(tmp_path),
        "--models",
        "gbt",
        "--protocols",
        "B",
        "--n-boot",
        "50",
    ]
    out = CliRunner().invoke(group, args)
    assert out.exit_code == 0, out.output
    assert "Which wins" in out.output and (tmp_path / "comparison.json").is_file()
