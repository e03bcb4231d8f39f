"""No command prints a traceback: every broken case ends in one line naming the file and the problem.

Each case runs the real CLI (CliRunner, in process) on a real, small dataset broken in one way, and checks
the exit code, that stderr holds exactly one ``error:`` line naming the file, and that no traceback was
printed or escaped. ``-vv`` shows the traceback. A few cases also run as subprocesses (seed scripts).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rapid_croissant.cli.main import cli
from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset import layout as names
from rapid_croissant.pipeline.pipeline import build_dataset
from rapid_croissant.writers.croissant import write_croissant

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small(sim_2025, tmp_path_factory):
    """Two jobs, no full images (fast), with croissant.json: the base every case breaks a copy of."""
    base = tmp_path_factory.mktemp("clean_errors")
    inp = base / "raw"
    for jid in ("jid1001", "jid1002"):
        shutil.copytree(sim_2025 / jid, inp / jid)
    out = base / "ds"
    cfg = BuildConfig(input_dir=inp, output_dir=out, executor="serial", full_images=False)
    build_dataset(cfg, progress=False)
    write_croissant(out)
    return inp, out


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _json(path: Path, value) -> None:
    path.write_text(json.dumps(value))


def _croissant_with_path(path: Path, url: str) -> None:
    doc = json.loads(path.read_text())
    for node in doc["distribution"]:
        if node.get("@type") == "cr:FileObject":
            node["contentUrl"] = url
            break
    path.write_text(json.dumps(doc))


def _corrupt_run(run: Path) -> None:
    run.mkdir()
    (run / "config.json").write_text("{")
    (run / "metrics.json").write_text("{}")
    (run / "predictions.parquet").write_bytes(b"PAR1")
    (run / "feature_stats.json").write_text("{}")


#: name -> (break(dataset, input, tmp), CLI arguments ({ds}, {inp}, {tmp} filled in), file named, exit code)
CASES = {
    "build_into_parent_of_input": (None, ["build", "-i", "{inp}", "-o", "{inp}/.."], "contains the input", 1),
    "build_into_job_folder": (
        None,
        ["build", "-i", "{inp}", "-o", "{inp}/jid1001/out"],
        "inside the input",
        1,
    ),
    "build_missing_input": (None, ["build", "-i", "{tmp}/nope", "-o", "{tmp}/o"], "does not exist", 1),
    "build_unknown_job": (None, ["build", "-i", "{inp}", "-o", "{tmp}/o", "--jobs", "jid9"], "jid9", 1),
    "build_name_too_long": (None, ["build", "-i", "{inp}", "-o", "{tmp}/" + "x" * 300], "too long", 1),
    "build_output_is_a_file": (
        lambda ds, inp, tmp: (tmp / "afile").write_text("x"),
        ["build", "-i", "{inp}", "-o", "{tmp}/afile"],
        "afile",
        2,  # click refuses the option itself (a usage error, no traceback either)
    ),
    "validate_truncated_parquet": (
        lambda ds, inp, tmp: _truncate(ds / names.CANDIDATES_PARQUET),
        ["validate", "{ds}", "--no-mlcroissant"],
        "candidates.parquet",
        1,
    ),
    "validate_corrupt_manifest": (
        lambda ds, inp, tmp: (ds / "images-manifest.parquet").write_bytes(b"PAR1garbage"),
        ["validate", "{ds}", "--no-mlcroissant"],
        "images-manifest.parquet",
        1,
    ),
    "validate_croissant_is_a_list": (
        lambda ds, inp, tmp: _json(ds / "croissant.json", [1, 2]),
        ["validate", "{ds}"],
        "croissant.json",
        1,
    ),
    "validate_croissant_truncated": (
        lambda ds, inp, tmp: _truncate(ds / "croissant.json"),
        ["validate", "{ds}"],
        "croissant.json",
        1,
    ),
    "validate_croissant_path_escapes": (
        lambda ds, inp, tmp: _croissant_with_path(ds / "croissant.json", "../../../../etc/passwd"),
        ["validate", "{ds}"],
        "unsafe-path",
        1,
    ),
    "validate_croissant_absolute_path": (
        lambda ds, inp, tmp: _croissant_with_path(ds / "croissant.json", "/etc/passwd"),
        ["validate", "{ds}"],
        "unsafe-path",
        1,
    ),
    "croissant_truncated_table": (
        lambda ds, inp, tmp: _truncate(ds / names.JOBS_PARQUET),
        ["croissant", "-d", "{ds}"],
        "jobs.parquet",
        1,
    ),
    "croissant_javascript_url": (
        None,
        ["croissant", "-d", "{ds}", "--url", "javascript:alert(1)"],
        "http(s)",
        1,
    ),
    "croissant_empty_creator": (None, ["croissant", "-d", "{ds}", "--creator", "  "], "creator_name", 1),
    "composition_truncated_parquet": (
        lambda ds, inp, tmp: _truncate(ds / names.CANDIDATES_PARQUET),
        ["composition", "-d", "{ds}"],
        "candidates.parquet",
        1,
    ),
    "report_corrupt_build_info": (
        lambda ds, inp, tmp: (ds / "build_info.json").write_text("{not json"),
        ["report", "{ds}"],
        "build_info.json",
        1,
    ),
    "evaluate_corrupt_run_config": (
        lambda ds, inp, tmp: _corrupt_run(tmp / "run"),
        ["evaluate", "{tmp}/run", "-d", "{ds}", "--no-plots"],
        "config.json",
        1,
    ),
    "build_unreachable_scheduler": (
        None,
        ["build", "-i", "{inp}", "-o", "{tmp}/o", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"],
        "127.0.0.1:9",
        1,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_command_prints_a_traceback(small, tmp_path, name, monkeypatch):
    inp, base = small
    ds = tmp_path / "ds"
    shutil.copytree(base, ds)
    breaker, args, named, code = CASES[name]
    if breaker:
        breaker(ds, inp, tmp_path)
    if name == "build_unreachable_scheduler":
        pytest.importorskip("distributed")
        monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "2s")
    argv = [a.format(ds=ds, inp=inp, tmp=tmp_path) for a in args]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert named in result.output, result.output
    if code == 1 and not name.startswith("validate"):
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1, result.stderr


def test_the_traceback_is_shown_with_vv(small, tmp_path):
    inp, _ = small
    result = CliRunner().invoke(cli, ["-vv", "build", "-i", str(inp), "-o", str(inp.parent)])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "OwnershipError" in result.stderr


def test_seed_script_errors_are_one_line(small, tmp_path):
    inp, _ = small
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "create_dataset.py", "-i", str(inp), "-o", str(inp.parent)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "contains the input folder" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "generate_croissant.py", "-d", str(tmp_path / "missing")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout, proc.stderr
