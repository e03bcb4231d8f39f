"""Dask execution: join an existing cluster (``--scheduler ADDRESS``) or start a local one.

``distributed.Client.get_executor()`` is a ``concurrent.futures`` executor, so the pipeline submits and
gathers exactly as with a process pool.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor

from rapid_croissant.config import BuildConfig
from rapid_croissant.pipeline.resources import WORKER_BASE_BYTES, cap_workers, worker_memory_limit

log = logging.getLogger(__name__)


class DaskExecutor(Executor):
    """A concurrent.futures executor over a Dask client that closes what it opened on shutdown."""

    def __init__(self, client, cluster=None, retries: int = 3):
        self._client, self._cluster = client, cluster
        # a job whose worker died (SIGKILL, lost node) is run again elsewhere: the job task is idempotent
        self._executor = client.get_executor(pure=False, retries=retries)

    def submit(self, fn, /, *args, **kwargs):
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._executor.shutdown(wait=wait)
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def dask_executor(cfg: BuildConfig) -> DaskExecutor:
    """A Dask executor for ``cfg``: the scheduler at ``cfg.scheduler``, else a local cluster of n_workers."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - dask is an optional extra
        raise ImportError(
            "--executor dask needs the dask extra: pip install 'rapid-croissant[dask]'"
        ) from err
    if cfg.scheduler:
        log.info("joining the Dask scheduler at %s", cfg.scheduler)
        return DaskExecutor(Client(cfg.scheduler))
    n = cap_workers(cfg.n_workers, WORKER_BASE_BYTES)
    limit = worker_memory_limit(n)  # the cluster is sized to the memory actually available
    cluster = LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", memory_limit=limit
    )
    log.info("started a local Dask cluster of %d workers, %.1f GB each", n, limit / 2**30)
    return DaskExecutor(Client(cluster), cluster)
