"""Build figures: the read+write floor, the build's seconds per job and peak memory per worker, bytes written
per job and the cutout store's bytes per candidate."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from rapid_croissant import io
from rapid_croissant.dataset import layout as names
from rapid_croissant.dataset import schema

#: ``jid1001 ok: ... (12.3 s)``: the per-job seconds the build logs as each job finishes.
_JOB_LINE = re.compile(r"(jid\d+) (?:ok|partial): .*\((\d+(?:\.\d+)?) s\)")


def _log(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


def _planes(job_dir: Path) -> tuple[list[tuple[int, Path | None]], tuple[int, int]]:
    """(channel index, path or None when absent) of each channel, and the image shape."""
    job = io.open_job(job_dir)
    return [
        (k, job.channel_path(ch) if job.channels_present.get(ch) else None)
        for k, ch in enumerate(schema.CHANNELS)
    ], job.shape


def _floor_once(job_dir: Path, out: Path, *, in_memory: bool) -> float:
    """Read the nine planes (io.read_plane) and write one float32 (H, W, 9) .npy; returns seconds.

    in_memory=False: planes go straight into an ``open_memmap`` (channels last, as the build writes it);
    in_memory=True: an (H, W, 9) array is filled in memory, then written with ``np.save``. A plane whose
    shape differs from the image (the PSF stamp) is written as zeros: the floor does no resizing.
    """
    planes, (h, w) = _planes(job_dir)
    t0 = time.perf_counter()
    if in_memory:
        tensor = np.empty((h, w, len(schema.CHANNELS)), dtype=np.float32)
    else:
        tensor = np.lib.format.open_memmap(
            out, mode="w+", dtype=np.float32, shape=(h, w, len(schema.CHANNELS))
        )
    for k, path in planes:
        plane = io.read_plane(path) if path is not None else None
        if plane is None or plane.shape != (h, w):
            tensor[:, :, k] = 0.0
        else:
            tensor[:, :, k] = plane
        del plane
    if in_memory:
        np.save(out, tensor)
    else:
        tensor.flush()
    del tensor
    return time.perf_counter() - t0


def _read_once(job_dir: Path) -> float:
    planes, _ = _planes(job_dir)
    t0 = time.perf_counter()
    for _, path in planes:
        if path is not None:
            io.read_plane(path)
    return time.perf_counter() - t0


def warm_inputs(job_dirs) -> float:
    """Read every file of ``job_dirs`` once (untimed by callers), so that floor and builds both start with
    their inputs in the page cache: this VM pages out page cache not used for about a minute."""
    t0 = time.perf_counter()
    buf = bytearray(1 << 23)
    for job in job_dirs:
        for path in Path(job).iterdir():
            if path.is_file():
                with path.open("rb", buffering=0) as fh:
                    while fh.readinto(buf):
                        pass
    return time.perf_counter() - t0


def _tensor_pass_once(job_dir: Path, out_dir: Path) -> float:
    """The build's own tensor pass alone (``build.tensors.write_image_outputs``: images, masks, psfs of a job)."""
    from rapid_croissant.pipeline.tensors import write_image_outputs

    job = io.open_job(job_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.sync()
    t0 = time.perf_counter()
    write_image_outputs(job, out_dir, np.zeros((0, 2)), full_images=True)
    seconds = time.perf_counter() - t0
    shutil.rmtree(out_dir, ignore_errors=True)
    return seconds


def _floor_round(job_dir: Path, out: Path) -> dict:
    """One timing of each floor variant (reading the planes only, read + memmap write, read + np.save) and
    of the build's tensor pass of the same job."""
    warm_inputs([job_dir])
    res = {"read_only": _read_once(job_dir)}
    for variant in ("memmap", "in_memory"):
        os.sync()
        res[variant] = _floor_once(job_dir, out, in_memory=variant == "in_memory")
        out.unlink(missing_ok=True)
    res["tensor_pass"] = _tensor_pass_once(job_dir, out.parent / "tensor_pass")
    os.sync()
    return res


def _floor_summary(runs: dict) -> dict:
    best = {k: min(v) for k, v in runs.items()}
    floor = min(best["memmap"], best["in_memory"])  # the tensor pass is the build's, not part of the floor
    return {"runs": runs, "best": best, "floor_s": floor, "repeats": len(runs["memmap"])}


def _busy_cpu_seconds() -> float | None:
    """CPU seconds spent by every process of the machine since boot (the ``cpu`` line of /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_wait: float, *, threshold: float = 0.3, window: float = 3.0) -> dict:
    """Wait (at most ``max_wait`` s) until the machine's CPU use over a ``window`` s sleep is below
    ``threshold`` cores: other people's work on a shared machine otherwise takes the cores we measure."""
    t0 = time.perf_counter()
    while True:
        b0 = _busy_cpu_seconds()
        time.sleep(window)
        b1 = _busy_cpu_seconds()
        busy = None if b0 is None or b1 is None else (b1 - b0) / window
        waited = time.perf_counter() - t0
        if busy is None or busy < threshold or waited >= max_wait:
            return {"waited_s": waited, "busy_cores": busy, "quiet": busy is not None and busy < threshold}


_TOUCH = (
    "import time, numpy as np\n"
    "n = 600 * 2**20 // 4\n"
    "out = []\n"
    "for pause in (0.0, 15.0):\n"
    "    time.sleep(pause)\n"
    "    t = time.perf_counter(); a = np.empty(n, np.float32); a.fill(1.0); t1 = time.perf_counter()\n"
    "    a.fill(2.0); t2 = time.perf_counter(); del a\n"
    "    out += [t1 - t, t2 - t1]\n"
    "print(*out)\n"
)


def memory_touch_check() -> dict:
    """Seconds to allocate and fill 600 MB of new memory (at once, then after 15 s idle) and to fill it again:
    shows what first-touching memory costs on this machine (a VM can hand idle memory back to its host)."""
    out = subprocess.run([sys.executable, "-c", _TOUCH], capture_output=True, text=True, check=True).stdout
    first, again, after_idle, again_idle = (float(x) for x in out.split())
    return {
        "first_touch_s": first,
        "second_pass_s": again,
        "first_touch_after_idle_s": after_idle,
        "second_pass_after_idle_s": again_idle,
    }


_SPIN = (
    "import time, numpy as np\n"
    "a = np.random.default_rng(0).random(20000, dtype=np.float32)\n"
    "t = time.perf_counter()\n"
    "for _ in range(60000): np.sin(a, out=a)\n"
    "print(time.perf_counter() - t)\n"
)


def cpu_check() -> dict:
    """Throughput of two concurrent copies of a compute-bound loop over one copy (2.0 on two free cores):
    tells how much of a second core the machine had to give at that moment."""

    def run(k: int) -> list[float]:
        procs = [
            subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.PIPE, text=True)
            for _ in range(k)
        ]
        return [float(p.communicate()[0]) for p in procs]

    one = run(1)[0]
    two = max(run(2))
    return {"one_s": one, "two_s": two, "throughput": 2 * one / two}


class _TreeSampler(threading.Thread):
    """Poll the RSS of a process and its descendants every ``interval`` s; keep each process's maxima."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peaks: dict[int, dict] = {}
        self.samples = 0
        self._done = threading.Event()

    def _sample(self, proc) -> None:
        try:
            mem = proc.memory_info()
        except Exception:  # noqa: BLE001 - the process may end between listing and reading it
            return
        peak = self.peaks.setdefault(
            proc.pid, {"rss": 0, "anon": 0, "role": "main" if proc.pid == self.pid else "worker"}
        )
        peak["rss"] = max(peak["rss"], mem.rss)
        peak["anon"] = max(peak["anon"], mem.rss - getattr(mem, "shared", 0))  # RSS minus file-backed pages

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            for p in procs:
                self._sample(p)
            self.samples += 1
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "rapid-croissant"
    return [str(script)] if script.is_file() else [sys.executable, str(Path.cwd() / "create_dataset.py")]


def run_build(
    in_dir: Path, out_dir: Path, *, workers: int, log_path: Path, extra: tuple[str, ...] = ()
) -> dict:
    """One ``rapid-croissant build`` subprocess; wall seconds, per-process peak RSS, per-job seconds."""
    executor = "serial" if workers == 1 else "process"
    # A fresh build: removing the previous output is not timed (replacing a 0.6 GB file frees its pages,
    # a cost a first build does not pay and the floor does not include).
    shutil.rmtree(out_dir, ignore_errors=True)
    warm_s = warm_inputs(sorted(p for p in in_dir.iterdir() if p.is_dir() and p.name.startswith("jid")))
    cmd = [
        *_cli(),
        "build",
        "-i",
        str(in_dir),
        "-o",
        str(out_dir),
        "--overwrite",
        "--workers",
        str(workers),
        "--executor",
        executor,
        *extra,
    ]
    os.sync()
    busy0 = _busy_cpu_seconds()
    with log_path.open("w") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        sampler = _TreeSampler(proc.pid)
        try:
            sampler.start()
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)  # its own process group: the build and its workers, no more
            proc.wait()
            raise
        finally:
            wall = time.perf_counter() - t0
            sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
    busy1 = _busy_cpu_seconds()
    own_cpu = usage.ru_utime + usage.ru_stime  # the build and the workers it waited for
    others = None if busy0 is None or busy1 is None else max(0.0, (busy1 - busy0 - own_cpu) / wall)
    text = log_path.read_text(errors="replace")
    job_seconds = {m.group(1): float(m.group(2)) for m in _JOB_LINE.finditer(text)}
    peaks = sampler.peaks
    workers_ = [v for v in peaks.values() if v["role"] == "worker"] if workers > 1 else []
    per_worker = workers_ or [v for v in peaks.values() if v["role"] == "main"]
    main = peaks.get(proc.pid, {"rss": 0, "anon": 0})
    return {
        "command": cmd,
        "returncode": proc.returncode,
        "wall_s": wall,
        "job_seconds": job_seconds,
        "n_processes": len(peaks),
        "samples": sampler.samples,
        "peak_rss_worker": max((v["rss"] for v in per_worker), default=0),
        "peak_anon_worker": max((v["anon"] for v in per_worker), default=0),
        "peak_rss_main": main["rss"],
        "warm_s": warm_s,
        "cpu_s": own_cpu,
        "others_cores": others,  # mean CPU cores used by other processes (other people's work) during the run
        "ru_maxrss": usage.ru_maxrss * 1024,  # kB on Linux: largest process of the tree that was waited for
        "tail": text[-600:] if proc.returncode else "",
    }


def _build_summary(runs: list[dict], n_jobs: int) -> dict:
    ok = [x for x in runs if x["returncode"] == 0] or runs
    best = min(ok, key=lambda x: x["wall_s"])
    return {
        "runs": runs,
        "best_wall_s": best["wall_s"],
        "per_job_s": best["wall_s"] / n_jobs,
        "in_job_s": float(np.mean(list(best["job_seconds"].values()))) if best["job_seconds"] else None,
        # memory: the highest of all runs, not the best one
        "peak_rss_worker": max(x["peak_rss_worker"] for x in runs),
        "peak_anon_worker": max(x["peak_anon_worker"] for x in runs),
        "peak_rss_main": max(x["peak_rss_main"] for x in runs),
        "ru_maxrss": max(x["ru_maxrss"] for x in runs),
        "others_cores_best": best.get("others_cores"),
        "others_cores": [x.get("others_cores") for x in runs],
        "ok": all(x["returncode"] == 0 for x in runs),
        "command": best["command"],
    }


def measure_floor_and_builds(
    job_dir: Path,
    in_dir: Path,
    out_dir: Path,
    *,
    scratch: Path,
    logs: Path,
    n_jobs: int,
    repeats: int,
    worker_counts=(1, 2),
    quiet_wait: float = 0.0,
) -> dict:
    """``repeats`` rounds of (floor of one job, build with each worker count), interleaved so that the floor
    and the builds see the same machine load; the best of the rounds is reported for each."""
    scratch.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    floor_runs: dict = {"read_only": [], "memmap": [], "in_memory": [], "tensor_pass": []}
    build_runs: dict = {w: [] for w in worker_counts}
    _read_once(job_dir)  # warm the page cache, as the builds see it
    checks, waits = [], []
    for r in range(repeats):
        if quiet_wait > 0:
            waits.append(wait_for_quiet(quiet_wait))
            _log(
                f"round {r + 1}/{repeats}: waited {waits[-1]['waited_s']:.0f} s for a quiet machine "
                f"(other processes: {waits[-1]['busy_cores'] or 0:.2f} cores)"
            )
        checks.append(cpu_check())
        _log(
            f"round {r + 1}/{repeats}: two copies of a compute loop ran at x{checks[-1]['throughput']:.2f} "
            f"the throughput of one (2.0 = two free cores)"
        )
        one = _floor_round(job_dir, scratch / "floor.npy")
        for k, v in one.items():
            floor_runs[k].append(v)
        _log(
            f"round {r + 1}/{repeats}: floor {job_dir.name}: read {one['read_only']:.2f} s, read+memmap write "
            f"{one['memmap']:.2f} s, read+np.save {one['in_memory']:.2f} s; the build's tensor pass "
            f"{one['tensor_pass']:.2f} s"
        )
        for w in worker_counts:
            run = run_build(in_dir, out_dir, workers=w, log_path=logs / f"build_w{w}_r{r}.log")
            if run["returncode"] != 0:
                _log(f"build with {w} worker(s) exited {run['returncode']}: {run['tail']}")
            jobs = run["job_seconds"]
            _log(
                f"round {r + 1}/{repeats}: {w} worker(s): {run['wall_s']:.1f} s wall for {n_jobs} jobs "
                f"({run['wall_s'] / n_jobs:.2f} s/job; in-job {np.mean(list(jobs.values()) or [np.nan]):.2f} s), "
                f"peak RSS per worker {run['peak_rss_worker'] / 1e9:.2f} GB "
                f"(anonymous {run['peak_anon_worker'] / 1e9:.2f} GB), main {run['peak_rss_main'] / 1e9:.2f} GB; "
                f"other processes used {run['others_cores'] or 0:.2f} cores meanwhile"
            )
            build_runs[w].append(run)
    floor = _floor_summary(floor_runs)
    b = floor["best"]
    _log(
        f"floor {job_dir.name}: read {b['read_only']:.2f} s, read+memmap write {b['memmap']:.2f} s, "
        f"read+np.save {b['in_memory']:.2f} s (best of {repeats})"
    )
    return {
        "floor": floor,
        "builds": {w: _build_summary(runs, n_jobs) for w, runs in build_runs.items()},
        "cpu_checks": checks,
        "quiet_waits": waits,
    }


def _size(paths) -> int:
    return sum(p.stat().st_size for p in paths if p.is_file())


def bytes_written(dataset: Path) -> dict:
    """Bytes per job of each kind of output (mean over jobs); dataset-wide tables divided by the job count."""
    jids = sorted(p.stem for p in (dataset / names.IMAGES_DIR).glob("jid*.npy"))
    n = max(len(jids), 1)
    per_kind = {
        "images": _size(dataset / names.IMAGES_DIR / f"{j}.npy" for j in jids),
        "masks": _size(dataset / names.MASKS_DIR / f"{j}.npy" for j in jids),
        "psfs": _size(dataset / names.PSFS_DIR / f"{j}.npy" for j in jids),
        "catalogs": _size((dataset / names.CATALOGS_DIR).glob("jid*")),
        "parts": _size((dataset / ".parts").glob("jid*")),
        "tables": _size(p for p in dataset.iterdir() if p.suffix in (".csv", ".parquet", ".json")),
    }
    out = {k: v / n for k, v in per_kind.items()}
    out["total"] = sum(out.values())
    out["n_jobs"] = len(jids)
    shapes = {np.load(dataset / names.IMAGES_DIR / f"{j}.npy", mmap_mode="r").shape for j in jids}
    out["image_shapes"] = sorted(str(s) for s in shapes)
    return out


def measure_cutout_store(dataset: Path, dtype: str) -> dict:
    """Write the store in ``dtype`` (replacing any other) and return its bytes per candidate."""
    from rapid_croissant.dataset import Layout
    from rapid_croissant.pipeline.cutout_store import write_cutout_store

    t0 = time.perf_counter()
    meta = write_cutout_store(dataset, dtype=dtype)
    seconds = time.perf_counter() - t0
    layout = Layout(dataset)
    n = sum(meta["counts"].values())
    cut = _size([layout.cutouts(s) for s in meta["counts"]])
    valid = _size([layout.cutout_valid(s) for s in meta["counts"]])
    index = _size([layout.cutout_index(s) for s in meta["counts"]] + [layout.cutout_meta])
    res = {
        "dtype": dtype,
        "n_candidates": n,
        "counts": meta["counts"],
        "write_s": seconds,
        "cutout_bytes_per_candidate": cut / max(n, 1),
        "valid_bytes_per_candidate": valid / max(n, 1),
        "index_bytes_per_candidate": index / max(n, 1),
        "total_bytes_per_candidate": (cut + valid + index) / max(n, 1),
    }
    _log(
        f"cutout store {dtype}: {n} candidates, {res['total_bytes_per_candidate'] / 1e3:.1f} kB/candidate "
        f"(cutouts {res['cutout_bytes_per_candidate'] / 1e3:.1f} kB), written in {seconds:.1f} s"
    )
    return res
