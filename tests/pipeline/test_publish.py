"""A build deletes only what is its own, publishes atomically, keeps the dataset in step with the input."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest

from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset import layout as names
from rapid_croissant.dataset.ownership import OwnershipError
from rapid_croissant.errors import ConfigError
from rapid_croissant.pipeline.pipeline import build_dataset
from rapid_croissant.pipeline.publish import PublishError

TABLES = (
    names.CANDIDATES_CSV,
    names.CANDIDATES_PARQUET,
    *(f"candidates-{s}.parquet" for s in names.SPLITS),
    names.TRUTH_PARQUET,
    names.JOBS_PARQUET,
    names.JOBS_CSV,
)


@pytest.fixture
def two_jobs(sim_2025, tmp_path):
    inp = tmp_path / "raw"
    for jid in ("jid1001", "jid1002"):
        shutil.copytree(sim_2025 / jid, inp / jid)
    return inp


def build(inp, out, **kw):
    kw.setdefault("full_images", False)
    return build_dataset(BuildConfig(input_dir=inp, output_dir=out, executor="serial", **kw), progress=False)


def snapshot(out):
    return {name: (out / name).read_bytes() for name in TABLES}


def jids(out):
    return sorted(pd.read_parquet(out / names.JOBS_PARQUET)["jid"])


def test_building_into_the_parent_of_the_input_is_refused_and_deletes_nothing(two_jobs):
    parent = two_jobs.parent
    user_files = [parent / ".notes.tmp1.txt", two_jobs / "jid1001" / ".scratch.tmp2.fits"]
    for f in user_files:
        f.write_text("the user's own")
    with pytest.raises(OwnershipError, match="contains the input folder"):
        build(two_jobs, parent)
    with pytest.raises(OwnershipError, match="inside the input folder"):
        build(two_jobs, two_jobs / "jid1001")
    assert all(f.read_text() == "the user's own" for f in user_files)


def test_a_foreign_non_empty_folder_is_refused(two_jobs, tmp_path):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(OwnershipError, match="not empty and not a rapid-croissant dataset"):
        build(two_jobs, foreign)
    assert (foreign / "holiday.jpg").read_bytes() == b"\xff\xd8"


def test_jobs_option_rebuilds_inside_the_full_dataset(two_jobs, tmp_path):
    out = tmp_path / "ds"
    build(two_jobs, out)
    before = pd.read_parquet(out / names.CANDIDATES_PARQUET)
    summary = build(two_jobs, out, jobs=("jid1001",), overwrite=True)
    assert [r.jid for r in summary.results] == ["jid1001"]
    assert jids(out) == ["jid1001", "jid1002"]
    pd.testing.assert_frame_equal(pd.read_parquet(out / names.CANDIDATES_PARQUET), before)


def test_a_job_removed_from_the_input_is_refused_then_pruned(two_jobs, tmp_path):
    out = tmp_path / "ds"
    build(two_jobs, out, full_images=True)
    shutil.rmtree(two_jobs / "jid1002")
    before = snapshot(out)
    with pytest.raises(ConfigError, match="no longer in the input .jid1002.*--prune"):
        build(two_jobs, out, full_images=True)
    assert snapshot(out) == before
    build(two_jobs, out, full_images=True, prune=True)
    assert jids(out) == ["jid1001"]
    assert not list(out.rglob("jid1002*")), "every file of the removed job is gone"
    assert (out / names.IMAGES_DIR / "jid1001.npy").is_file()


def test_an_edit_keeping_size_and_mtime_is_noticed(two_jobs, tmp_path):
    out = tmp_path / "ds"
    build(two_jobs, out)
    [inject] = (two_jobs / "jid1001").glob("*_lite_inject.txt")
    st = inject.stat()
    lines = inject.read_text().splitlines()
    x, rest = lines[1].split(None, 1)
    lines[1] = f"{x[:-1]}{(int(x[-1]) + 1) % 10} {rest}"  # same length, another position
    inject.write_text("\n".join(lines) + "\n")
    os.utime(inject, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert inject.stat().st_size == st.st_size and inject.stat().st_mtime_ns == st.st_mtime_ns
    summary = build(two_jobs, out)
    status = {r.jid: r.status for r in summary.results}
    assert status == {"jid1001": "ok", "jid1002": "skipped"}


def test_a_failing_publication_keeps_the_last_good_tables(two_jobs, tmp_path, monkeypatch):
    out = tmp_path / "ds"
    build(two_jobs, out)
    before = snapshot(out)
    real = pq.write_table  # every Parquet table goes through it (pandas' to_parquet too)

    def refuse(table, where, *a, **kw):
        if "candidates-test" in str(where):
            raise PermissionError(errno.EACCES, "Permission denied", str(where))
        return real(table, where, *a, **kw)

    monkeypatch.setattr(pq, "write_table", refuse)
    with pytest.raises(
        PublishError, match=r"candidates-test.parquet: could not be written \(Permission denied\)"
    ):
        build(two_jobs, out, overwrite=True)
    assert snapshot(out) == before
    assert not list(out.glob(".staging-*"))


def test_a_job_that_cannot_write_stops_publication(two_jobs, tmp_path, monkeypatch):
    out = tmp_path / "ds"
    build(two_jobs, out)
    before = snapshot(out)
    from rapid_croissant.pipeline import parts

    def full(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(parts, "write_job_parts", full)
    with pytest.raises(PublishError, match="No space left on device.*published tables are unchanged"):
        build(two_jobs, out, overwrite=True)
    assert snapshot(out) == before
    assert sorted(p.name for p in (out / ".parts").glob("*.job.json")) == [
        "jid1001.job.json",
        "jid1002.job.json",
    ]


def _mount_tmpfs(where, size):
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")


def test_a_full_disk_keeps_the_last_good_dataset_and_says_which_file(two_jobs, tmp_path):
    disk = tmp_path / "small_disk"
    _mount_tmpfs(disk, "8m")
    try:
        out = disk / "ds"
        build(two_jobs, out)
        before = snapshot(out)
        free = shutil.disk_usage(disk).free
        (disk / "filler").write_bytes(b"\0" * (free - 64 * 1024))  # leave 64 kB
        run = subprocess.run(
            [sys.executable, "-m", "rapid_croissant.cli.main", "build", "-i", str(two_jobs), "-o", str(out)]
            + ["--overwrite", "--no-full-images", "--workers", "1"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert run.returncode == 1, run.stderr
        assert "Traceback" not in run.stderr
        errors = [ln for ln in run.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and "No space left on device" in errors[0], run.stderr
        assert snapshot(out) == before
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_file_of_the_user_at_one_of_our_names_is_never_overwritten(two_jobs, tmp_path):
    out = tmp_path / "ds"
    build(two_jobs, out, jobs=("jid1001",))
    mine = out / names.IMAGES_DIR / "jid1002.npy"
    mine.parent.mkdir(exist_ok=True)
    mine.write_bytes(b"my own array")
    with pytest.raises(OwnershipError, match="not written by rapid-croissant .images/jid1002.npy"):
        build(two_jobs, out, full_images=True)
    assert mine.read_bytes() == b"my own array"
