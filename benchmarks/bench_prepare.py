"""Benchmark inputs: simulated RAPID jobs in a cache folder, made once and reused.

The 4089² input is one simulated job copied into N job folders (jid1001..jid100N). Simulating a real-size
job runs SFFT at 4089² (minutes, ~15 GB peak), so one is simulated and replicated: the build's cost depends
on the image size and the number of catalog rows, not on the pixel values.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

SIM_SEED = 4088
SMALL_SEED = 512
SMALL_JOBS = 12


def _log(msg: str) -> None:
    print(f"[prepare] {msg}", flush=True)


def _simulate(out: Path, *, n: int, size: int, seed: int) -> float:
    """Simulate into ``out`` (through a temporary folder, so an interrupted run is redone); returns
    seconds."""
    from rapid_croissant.simulate.core import simulate_jobs

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.perf_counter()
    simulate_jobs(tmp, n=n, size=size, seed=seed, progress=True)
    seconds = time.perf_counter() - t0
    (tmp / "bench_simulation.json").write_text(
        json.dumps({"n": n, "size": size, "seed": seed, "seconds": seconds})
    )
    os.replace(tmp, out)
    return seconds


def _job_dirs(root: Path) -> list[Path]:
    return sorted(
        p for p in root.iterdir() if p.is_dir() and p.name.startswith("jid") and p.name[3:].isdigit()
    )


def simulated(cache: Path, *, size: int, n: int, seed: int) -> tuple[Path, dict]:
    """The folder of ``n`` simulated jobs at ``size`` (simulated now unless cached); returns (folder,
    info)."""
    out = cache / f"sim{size}_n{n}_seed{seed}"
    stamp = out / "bench_simulation.json"
    if stamp.is_file():
        info = json.loads(stamp.read_text())
        _log(f"reusing {out} (simulated in {info['seconds']:.0f} s)")
        return out, info | {"cached": True}
    _log(f"simulating {n} job(s) at {size} px into {out} ...")
    seconds = _simulate(out, n=n, size=size, seed=seed)
    _log(f"simulated in {seconds:.1f} s")
    return out, json.loads(stamp.read_text()) | {"cached": False}


def replicated(cache: Path, source: Path, *, n_jobs: int) -> Path:
    """``n_jobs`` copies jid1001..jid100N of the single job of ``source`` (copied, not linked: each job has
    its own files, as real jobs do, so the page cache holds N jobs' inputs)."""
    (job,) = _job_dirs(source)
    out = cache / f"in4088_x{n_jobs}"
    stamp = out / "bench_replicated.json"
    if stamp.is_file() and json.loads(stamp.read_text()).get("source") == str(source):
        _log(f"reusing {out} ({n_jobs} copies of {source.name}/{job.name})")
        return out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    for k in range(1, n_jobs + 1):
        dest = out / f"jid{1000 + k}"
        shutil.copytree(job, dest)
        _log(f"copied {job.name} -> {dest.name}")
    os.sync()  # write the copies out now, not during a measurement
    stamp.write_text(
        json.dumps({"source": str(source), "n_jobs": n_jobs, "seconds": time.perf_counter() - t0})
    )
    return out


def input_bytes(job_dir: Path) -> int:
    return sum(p.stat().st_size for p in job_dir.iterdir() if p.is_file())
