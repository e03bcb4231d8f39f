"""Helpers of the scale tests: output digests, a moto S3 server and a Dask cluster, each a real process or
server on 127.0.0.1, started and stopped by the tests."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

#: Dummy credentials for the local server; the real AWS config files are never read.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def digests(root: Path) -> dict[str, str]:
    """sha256 of every output file (the build_info time stamp, the internal parts, the ownership marker
    and the lock aside: they record where and when the dataset was written)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and p.name != "build_info.json"
        and not p.name.startswith(".rapid-croissant")
        and ".parts" not in p.parts
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def aws_env():
    saved = {k: os.environ.get(k) for k in AWS_ENV}
    os.environ.update(AWS_ENV)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def moto_server():
    """(endpoint URL, boto3 client) of a moto S3 server on 127.0.0.1, stopped on exit."""
    import boto3
    from moto.server import ThreadedMotoServer

    with aws_env():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        try:
            yield endpoint, boto3.client("s3", endpoint_url=endpoint)
        finally:
            server.stop()


def upload_tree(client, bucket: str, prefix: str, root: Path, only: list[str] | None = None) -> int:
    """Upload every file under ``root`` (or under its folders ``only``) to ``bucket/prefix``."""
    n = 0
    for path in sorted(Path(root).rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or (only is not None and rel.parts[0] not in only):
            continue
        client.upload_file(str(path), bucket, prefix + rel.as_posix())
        n += 1
    return n


def package_env() -> dict[str, str]:
    """The environment with this checkout's rapid_croissant first on PYTHONPATH (for worker processes)."""
    import rapid_croissant

    src = str(Path(rapid_croissant.__file__).resolve().parents[1])
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])))


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    def accepting() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    _wait_for(accepting, timeout, f"a server on port {port}")


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up within {timeout} s")


@contextlib.contextmanager
def dask_cluster(n_workers: int, log_dir: Path):
    """``dask scheduler`` and ``n_workers`` ``dask worker --no-nanny`` processes on 127.0.0.1.

    Yields (address, worker processes); every process is stopped on exit (SIGTERM, then SIGKILL).
    """
    from distributed import Client

    bindir = Path(sys.executable).parent
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    log_dir.mkdir(parents=True, exist_ok=True)
    procs, logs = [], []
    env = package_env()

    def start(name, *args):
        log = (log_dir / f"{name}.log").open("w")
        logs.append(log)
        procs.append(subprocess.Popen([str(bindir / "dask"), *args], stdout=log, stderr=log, env=env))
        return procs[-1]

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
        workers = [
            start(
                f"worker{k}",
                "worker",
                address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--name",
                f"w{k}",
            )
            for k in range(n_workers)
        ]
        with Client(address, timeout=60) as client:
            client.wait_for_workers(n_workers, timeout=120)
        yield address, workers
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in logs:
            log.close()
