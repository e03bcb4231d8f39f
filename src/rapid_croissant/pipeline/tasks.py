"""Run one task per job: in order in this process, or on an executor as the tasks finish.

The build's job phase and its cutout-store phase share this: a Ctrl-C or a dead worker cancels the tasks not
yet started and raises ``Interrupted`` with the phase's own message (what is kept, how to resume).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor, as_completed
from concurrent.futures.process import BrokenProcessPool as BrokenExecutor

from rapid_croissant.errors import Interrupted


def run_tasks(
    task: Callable,
    calls: Sequence[tuple],
    executor: Executor | None,
    *,
    on_result: Callable[[object], None],
    interrupted: Callable[[int, str], str],
) -> None:
    """Call ``task(*args)`` for each ``args`` of ``calls`` and hand every result to ``on_result``.

    ``interrupted(n_done, reason)`` words the ``Interrupted`` error raised on KeyboardInterrupt or a
    broken executor.
    """
    done, futures = 0, []
    try:
        if executor is None:
            results = (task(*args) for args in calls)
        else:
            futures = [executor.submit(task, *args) for args in calls]
            results = (f.result() for f in as_completed(futures))
        for res in results:
            done += 1
            on_result(res)
    except (KeyboardInterrupt, BrokenExecutor) as exc:
        for f in futures:
            f.cancel()
        raise Interrupted(interrupted(done, type(exc).__name__)) from exc
