"""Scale figures of issue 14, side by side in one run, at RAPID's real image size (4089² products).

    python benchmarks/bench_scale.py [--cache DIR] [--n-jobs 4] [--repeats 2] [--out BENCHMARKS.md]

- cutout-first (``--profile cutouts``) vs full-frame (``--profile full``), 1 worker: seconds and bytes written
  per job (the goal: cutout-first <= 25 % of each);
- cutout-first with 2 workers vs 1 (goal >= 1.7x);
- the same builds from a local S3 server (``moto_server`` on 127.0.0.1) vs the local folder (goal <= 1.5x);
- the ZScale limits of a 1000-pixel sample (what both profiles use) against those of the whole plane;
- the full RAPID run (6,875 jobs of 20250927) on paper from the measured per-job costs.

Input: one job simulated at 4088 px at RAPID's injection density (2 per 512², 128 per SCA; ~5 min, 15 GB
peak, cached in the cache folder) and copied into ``--n-jobs`` job folders. Every build runs as a
subprocess of the real CLI; results go to ``<cache>/scale_results.json`` and to the "Scale" section of the
Markdown file (between ``<!-- bench-scale:start -->`` and ``<!-- bench-scale:end -->``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_build  # noqa: E402
import bench_prepare  # noqa: E402
import store_dtype  # noqa: E402

_JOB_LINE = re.compile(r"(jid\d+) (?:ok|partial): .*\((\d+(?:\.\d+)?) s\)")
BIN = Path(sys.executable).parent


def _log(msg: str) -> None:
    print(f"[scale] {msg}", flush=True)


def simulated(cache: Path) -> Path:
    out = cache / "sim4088_rapid_density"
    if (out / "bench_simulation.json").is_file():
        return out
    from rapid_croissant.simulate.core import simulate_jobs

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.perf_counter()
    simulate_jobs(tmp, n=1, size=4088, seed=4088, injections_per_512=2, progress=True)
    info = {"n": 1, "size": 4088, "seed": 4088, "injections_per_512": 2, "seconds": time.perf_counter() - t0}
    (tmp / "bench_simulation.json").write_text(json.dumps(info))
    os.replace(tmp, out)
    return out


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def _io() -> dict[str, int]:
    """This process's I/O counters: they include those of its reaped children (the build and its workers)."""
    rows = (line.split(": ") for line in Path("/proc/self/io").read_text().splitlines() if line)
    return {k: int(v) for k, v in rows}


def _cpu_children() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


_PHASE = re.compile(r"(\d+) job\(s\) built in (\d+(?:\.\d+)?) s")
_STORE = re.compile(r"cutouts of (\d+) job\(s\) written in (\d+(?:\.\d+)?) s")


def build(inp: str, out: Path, *, profile: str, workers: int, extra=()) -> dict:
    """One build through the CLI (fresh output, dirty pages of earlier builds written out first): wall
    seconds with the page cache, then the seconds of a final ``sync`` (wall + sync = durable), bytes the
    build wrote (``write_bytes`` of the build and its workers, /proc/<pid>/io), CPU seconds of the build
    and of everything else on the machine while it ran."""
    shutil.rmtree(out, ignore_errors=True)
    os.sync()
    executor = ["--executor", "serial"] if workers == 1 else ["--executor", "process"]
    cmd = [str(BIN / "rapid-croissant"), "build", "-i", inp, "-o", str(out), "--profile", profile]
    cmd += ["--workers", str(workers), *executor, *extra]
    io0, cpu0, busy0 = _io(), _cpu_children(), bench_build._busy_cpu_seconds()
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    cpu, busy = _cpu_children() - cpu0, bench_build._busy_cpu_seconds() - busy0
    os.sync()
    durable = time.perf_counter() - t0
    io1 = _io()
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {run.stderr[-2000:]}")
    jobs = {m[1]: float(m[2]) for m in _JOB_LINE.finditer(run.stderr)}
    phases = [float(m[2]) for m in _PHASE.finditer(run.stderr)]
    phases += [float(m[2]) for m in _STORE.finditer(run.stderr)]
    n_cand = int(re.search(r": (\d+) candidates from", run.stdout)[1])
    return {
        "wall": wall,
        "durable": durable,
        "sync": durable - wall,
        "parallel": sum(phases),  # the sections that run on the workers (jobs, then store rows)
        "job_seconds": jobs,
        "write_bytes": io1["write_bytes"] - io0["write_bytes"],
        "cancelled_write_bytes": io1["cancelled_write_bytes"] - io0["cancelled_write_bytes"],
        "bytes": tree_bytes(out),
        "bytes_store": tree_bytes(out / "cutouts") + tree_bytes(out / "images") + tree_bytes(out / "masks"),
        "bytes_parts": tree_bytes(out / ".parts"),
        "table_meta_bytes": _table_meta_bytes(out / "candidates.parquet"),
        "candidates": n_cand,
        "cpu": cpu,
        "others_cpu": busy - cpu,  # CPU seconds of every other process of the machine meanwhile
        "load": os.getloadavg()[0],
        "cmd": " ".join(cmd),
    }


def _table_meta_bytes(path: Path) -> int:
    """Bytes of the schema metadata (pandas and astropy YAML) in a Parquet file's footer."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    return sum(len(k) + len(v) for k, v in meta.items())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def moto(jobs_dir: Path):
    """A moto S3 server process on 127.0.0.1 holding the jobs under s3://bench/run/; yields (url, options)."""
    import boto3

    env = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    os.environ.update(env)
    port = _free_port()
    log = open(jobs_dir.parent / "moto.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client("s3", endpoint_url=endpoint)
        for _ in range(100):
            with contextlib.suppress(Exception):
                client.list_buckets()
                break
            time.sleep(0.2)
        client.create_bucket(Bucket="bench")
        t0 = time.perf_counter()
        for p in sorted(jobs_dir.rglob("*")):
            if p.is_file():
                client.upload_file(str(p), "bench", "run/" + p.relative_to(jobs_dir).as_posix())
        _log(
            f"uploaded {tree_bytes(jobs_dir) / 1e9:.2f} GB to {endpoint} in {time.perf_counter() - t0:.0f} s"
        )
        yield "s3://bench/run/", json.dumps({"endpoint_url": endpoint})
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


#: The reference sample: ZScale on all 16.7M pixels is impractical (astropy grows its rejection mask with a
#: convolution kernel of 1 % of the sample: 10^12 operations), so 100x the build's 1000 pixels.
BIG_SAMPLE = 100_000


def zscale_sample_vs_plane(job_dir: Path) -> dict:
    """Per channel: the sampled limits (both profiles) and ZScale of a 100x larger sample of the plane."""
    from astropy.visualization import ZScaleInterval

    from rapid_croissant import formats as schema
    from rapid_croissant import io
    from rapid_croissant.science.normalize import seed_zscale_limits

    job = io.open_job(job_dir)
    out = {}
    for ch in schema.CHANNELS:
        if ch in schema.STAMP_CHANNELS or not job.channels_present.get(ch):
            continue
        plane = io.read_plane(job.channel_path(ch))
        lo, hi = seed_zscale_limits(plane)
        full = np.nan_to_num(plane.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        flo, fhi = (float(v) for v in ZScaleInterval(n_samples=BIG_SAMPLE).get_limits(full))
        width = fhi - flo
        out[ch] = {
            "sample": [lo, hi],
            "plane": [flo, fhi],
            "dmin": (lo - flo) / width,
            "dmax": (hi - fhi) / width,
        }
        _log(f"zscale {ch}: sample {lo:.4g}..{hi:.4g}, plane {flo:.4g}..{fhi:.4g}")
    return out


def _best(runs: list[dict]) -> dict:
    return min(runs, key=lambda r: r["wall"])


def _save(path: Path, res: dict) -> None:
    path.write_text(json.dumps(res, indent=1, default=str))


#: (name, profile, workers, extra options): one job and all jobs, so that per-job figures are the
#: difference (the start-up, ~2 s of imports, and the tables of one build are not a job's cost).
LOCAL_BUILDS = (
    ("full_1job", "full", 1, ("--jobs", "jid1001")),
    ("full", "full", 1, ()),
    ("cutouts_1job", "cutouts", 1, ("--jobs", "jid1001")),
    ("cutouts", "cutouts", 1, ()),
    ("cutouts_w2", "cutouts", 2, ()),
    ("full_w2", "full", 2, ()),
    ("floor_1job", "full", 1, ("--no-full-images", "--jobs", "jid1001")),
    ("floor", "full", 1, ("--no-full-images",)),
    ("cutouts_f32", "cutouts", 1, ("--cutout-dtype", "float32")),
)


def _round(jobs_dir: Path, work: Path, rounds: dict, r: int, cache: Path) -> None:
    for name, profile, workers, extra in LOCAL_BUILDS:
        run = build(str(jobs_dir), work / name, profile=profile, workers=workers, extra=extra)
        rounds.setdefault(name, []).append(run)
        _log(
            f"round {r} {name}: {run['wall']:.1f} s (+{run['sync']:.1f} s sync), wrote "
            f"{run['write_bytes'] / 1e9:.3f} GB, others' CPU {run['others_cpu'] / run['durable']:.2f} cores"
        )
        _save(cache / "scale_partial.json", rounds)


def _s3_rounds(jobs_dir: Path, work: Path, rounds: dict, s3_repeats: int, cache: Path) -> None:
    with moto(jobs_dir) as (url, opts):
        for r in range(s3_repeats):
            for name, profile in (("s3_full", "full"), ("s3_cutouts", "cutouts")):
                run = build(url, work / name, profile=profile, workers=1, extra=("--storage-options", opts))
                rounds.setdefault(name, []).append(run)
                _log(f"round {r} {name}: {run['wall']:.1f} s")
            for name, profile in (("local_full", "full"), ("local_cutouts", "cutouts")):
                run = build(str(jobs_dir), work / name, profile=profile, workers=1)
                rounds.setdefault(name, []).append(run)
                _log(f"round {r} {name}: {run['wall']:.1f} s")
            _save(cache / "scale_partial.json", rounds)


def measure_s3(cache: Path, n_jobs: int, s3_repeats: int, quiet: float) -> dict:
    """Only the S3 rounds (``--only s3``): S3 and local builds side by side, and their ratios."""
    jobs_dir = bench_prepare.replicated(cache, simulated(cache), n_jobs=n_jobs)
    rounds: dict[str, list] = {}
    if quiet:
        _log(f"quiet: {bench_build.wait_for_quiet(quiet)}")
    bench_build.warm_inputs(sorted(jobs_dir.glob("jid*")))
    _s3_rounds(jobs_dir, cache / "scale_work", rounds, s3_repeats, cache)
    shutil.rmtree(cache / "scale_work", ignore_errors=True)
    builds = {k: _best(v) | {"all_walls": [x["wall"] for x in v]} for k, v in rounds.items()}
    for profile in ("full", "cutouts"):
        s3, local = builds[f"s3_{profile}"]["wall"], builds[f"local_{profile}"]["wall"]
        _log(f"S3/local {profile}: {s3:.2f} / {local:.2f} s = {s3 / local:.2f}x")
    return {"n_jobs": n_jobs, "builds": builds, "load": os.getloadavg()}


def measure(cache: Path, n_jobs: int, repeats: int, s3_repeats: int, quiet: float) -> dict:
    source = simulated(cache)
    jobs_dir = bench_prepare.replicated(cache, source, n_jobs=n_jobs)
    work = cache / "scale_work"
    res: dict = {"n_jobs": n_jobs, "input_bytes_per_job": bench_prepare.input_bytes(jobs_dir / "jid1001")}
    rounds: dict[str, list] = {}
    for r in range(repeats):
        if quiet:
            res.setdefault("quiet", []).append(bench_build.wait_for_quiet(quiet))
        bench_build.warm_inputs(sorted(jobs_dir.glob("jid*")))
        _round(jobs_dir, work, rounds, r, cache)
    if s3_repeats:
        _s3_rounds(jobs_dir, work, rounds, s3_repeats, cache)
    res["builds"] = {k: _best(v) | {"all_walls": [x["wall"] for x in v]} for k, v in rounds.items()}
    res["zscale"] = zscale_sample_vs_plane(source / "jid1001")
    res["quantisation"] = store_dtype.quantisation(source / "jid1001")
    shutil.rmtree(work, ignore_errors=True)
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", default=".bench/scale")
    p.add_argument("--n-jobs", type=int, default=4)
    p.add_argument("--repeats", type=int, default=2, help="rounds of the local builds")
    p.add_argument("--s3-repeats", type=int, default=1, help="rounds of S3 and local builds side by side")
    p.add_argument("--quiet", type=float, default=0, help="wait up to this many s for a quiet machine")
    p.add_argument("--auc", action="store_true", help="also train the CNN on float32 and uint8 stores")
    p.add_argument("--out", default="BENCHMARKS.md")
    p.add_argument("--render-only", action="store_true", help="rewrite the section from the saved results")
    p.add_argument(
        "--only",
        choices=["s3"],
        help="only the S3 rounds: ratios logged and saved to <cache>/scale_s3_results.json (no Markdown)",
    )
    args = p.parse_args(argv)
    cache = Path(args.cache).resolve()
    if args.only == "s3":
        res = measure_s3(cache, args.n_jobs, args.s3_repeats, args.quiet)
        _save(cache / "scale_s3_results.json", res | {"command": " ".join(sys.argv)})
        return 0
    saved = cache / "scale_results.json"
    if args.render_only:
        res = json.loads(saved.read_text())
        res["auc"] = res.get("auc") or store_dtype.saved_auc(cache)
    else:
        t0 = time.perf_counter()
        res = measure(cache, args.n_jobs, args.repeats, args.s3_repeats, args.quiet)
        res["auc"] = store_dtype.auc_check(cache) if args.auc else store_dtype.saved_auc(cache)
        res["seconds"] = time.perf_counter() - t0
        res["date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        res["command"] = " ".join([Path(sys.executable).name, *sys.argv])
        res["load"] = os.getloadavg()
        saved.write_text(json.dumps(res, indent=1))
    import scale_model

    scale_model.write_section(Path(args.out), res)
    _log(f"wrote {args.out} (section Scale) and {saved}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
