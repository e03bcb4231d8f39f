"""Real `rapid-croissant build` processes: SIGTERM ends with a summary and a resumable state; two writers
of one dataset never run at once (the second is refused with a clear line)."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from rapid_croissant.dataset import ownership


@pytest.fixture
def six_jobs(sim_2025, tmp_path):
    inp = tmp_path / "raw"
    for k in range(6):
        shutil.copytree(sim_2025 / "jid1001", inp / f"jid{3001 + k}")
    return inp


def _cli(*args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "rapid_croissant.cli.main", *map(str, args)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.05)


def _digests(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in ("build_info.json",) and ".rapid-croissant.lock" not in p.name
    }


@pytest.mark.slow
def test_sigterm_ends_with_a_summary_and_resumes_to_the_same_outputs(six_jobs, tmp_path):
    out = tmp_path / "ds"
    proc = _cli("build", "-i", six_jobs, "-o", out, "--workers", "1", "--no-full-images")
    _wait_for(
        lambda: len(list((out / ".parts").glob("*.job.json"))) >= 1 if (out / ".parts").is_dir() else False
    )
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr and "run the same command again" in stderr
    assert not (out / "candidates.parquet").exists(), "nothing half-built is published"
    done = len(list((out / ".parts").glob("*.job.json")))
    assert 1 <= done < 6
    rerun = _cli("build", "-i", six_jobs, "-o", out, "--workers", "1", "--no-full-images")
    _, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr
    clean = tmp_path / "clean"
    fresh = _cli("build", "-i", six_jobs, "-o", clean, "--workers", "1", "--no-full-images")
    fresh.communicate(timeout=120)
    assert _digests(out) == _digests(clean)


def test_a_second_writer_is_refused_while_the_first_runs(six_jobs, tmp_path):
    out = tmp_path / "ds"
    first = _cli("build", "-i", six_jobs, "-o", out, "--workers", "1", "--no-full-images")
    pid_file = out / (ownership.LOCK + ".pid")
    _wait_for(pid_file.is_file)
    os.kill(first.pid, signal.SIGSTOP)  # hold it while it holds the lock
    try:
        second = _cli("build", "-i", six_jobs, "-o", out, "--workers", "1", "--no-full-images")
        _, stderr = second.communicate(timeout=120)
        assert second.returncode == 1 and "Traceback" not in stderr
        assert "another rapid-croissant command is writing this dataset" in stderr
        assert f"process {first.pid}" in stderr
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert (out / "candidates.parquet").is_file()
