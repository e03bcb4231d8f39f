"""Resume and input checks on small hand-made jobs: a changed input is rebuilt, an unchanged one skipped;
``io.check_job`` and the build agree about a truncated FITS plane."""

from __future__ import annotations

import json
import os

import pandas as pd

from io_fixtures import make_job
from rapid_croissant import formats
from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset import Layout
from rapid_croissant.io import check_job
from rapid_croissant.pipeline.pipeline import build_dataset


def _build(src, out, **kw):
    return build_dataset(BuildConfig(input_dir=src, output_dir=out, workers=1, **kw), progress=False)


def test_a_changed_input_is_rebuilt_and_the_others_skipped(tmp_path):
    src, out = tmp_path / "jobs", tmp_path / "out"
    for jid in ("jid1", "jid2"):
        make_job(src, jid)
    first = _build(src, out)
    assert [r.status for r in first.results] == ["ok", "ok"]
    before = json.loads(Layout(out).part_job("jid2").read_text())["fingerprint"]
    inject = next((src / "jid2").glob("*_inject.txt"))
    lines = inject.read_text().splitlines()
    inject.write_text("\n".join(lines[:-1]) + "\n")  # one injection fewer
    st = inject.stat()
    os.utime(inject, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    again = _build(src, out)
    assert {r.jid: r.status for r in again.results} == {"jid1": "skipped", "jid2": "ok"}
    assert json.loads(Layout(out).part_job("jid2").read_text())["fingerprint"] != before
    truth = pd.read_parquet(Layout(out).truth_parquet)
    injected = truth[truth.injected]
    assert injected.groupby("jid").size().to_dict() == {"jid1": len(lines) - 1, "jid2": len(lines) - 2}


def test_a_changed_science_option_rebuilds_every_job(tmp_path):
    src, out = tmp_path / "jobs", tmp_path / "out"
    make_job(src, "jid1")
    _build(src, out)
    assert [r.status for r in _build(src, out).results] == ["skipped"]
    assert [r.status for r in _build(src, out, match_radius=3.0).results] == ["ok"]
    info = json.loads(Layout(out).build_info.read_text())
    assert info["config"]["match_radius"] == 3.0


def test_check_job_and_the_build_agree_about_a_truncated_plane(tmp_path):
    src, out = tmp_path / "jobs", tmp_path / "out"
    job = make_job(src, "jid5")
    scorr = job / formats.FILES_2025.channels["zogy_scorr"]
    scorr.write_bytes(scorr.read_bytes()[:4000])
    problems = check_job(job)
    assert [(p.file, p.severity) for p in problems] == [(scorr.name, "warning")]
    assert "truncated" in problems[0].message and "left empty and masked" in problems[0].message
    result = _build(src, out).results[0]
    assert result.status == "partial"
    assert any(scorr.name in note and "left empty and masked" in note for note in result.warnings)
    jobs = pd.read_parquet(Layout(out).jobs_parquet)
    assert jobs.loc[0, "status"] == "partial" and "truncated" in jobs.loc[0, "notes"]
