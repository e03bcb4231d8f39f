"""Bounded resources: worker counts the machine can hold, a Dask cluster sized to memory, orphan-proof pools.

A job of H x W pixels needs about ``job_memory(H, W)`` bytes in a worker (the memory-mapped planes it
touches, the resized PSF and uncertainty planes, row blocks of the tensor, catalogs). Asking for more
workers than cores, or than the available memory holds, is capped with a message. Pool workers exit when
the process that started them dies (Linux: PR_SET_PDEATHSIG; elsewhere a watcher thread), so a killed
build never leaves workers running on.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time

log = logging.getLogger(__name__)

#: Fixed per-worker overhead (interpreter, numpy, astropy, photutils imports) in bytes.
WORKER_BASE_BYTES = 400 * 2**20


def job_memory(height: int, width: int) -> int:
    """Peak bytes one job of this shape needs in a worker (measured order of magnitude, see BENCHMARKS.md)."""
    return WORKER_BASE_BYTES + 3 * 8 * height * width


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def cap_workers(requested: int, per_worker_bytes: int, *, memory: int | None = None) -> int:
    """``requested`` capped at the usable cores and at what the available memory holds (with a message)."""
    memory = available_memory() if memory is None else memory
    by_memory = max(1, memory // max(per_worker_bytes, 1))
    cap = max(1, min(requested, usable_cores(), by_memory))
    if cap < requested:
        log.warning(
            "%d workers asked, %d used: %d usable cores, %.1f GB available memory holds %d job(s) of %.2f GB",
            requested,
            cap,
            usable_cores(),
            memory / 2**30,
            by_memory,
            per_worker_bytes / 2**30,
        )
    return cap


def worker_memory_limit(n_workers: int, *, memory: int | None = None) -> int:
    """Memory limit of each worker of a local Dask cluster: the available memory shared out (90 %)."""
    memory = available_memory() if memory is None else memory
    return max(WORKER_BASE_BYTES, int(0.9 * memory) // max(n_workers, 1))


def _watch_parent(parent: int, interval: float) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(interval)


def die_with_parent(parent: int | None = None, interval: float = 1.0) -> None:
    """Pool initializer: end this worker when its parent process dies (SIGKILL of the build included)."""
    parent = os.getppid() if parent is None else parent
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - exotic libc
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent, interval), daemon=True).start()
