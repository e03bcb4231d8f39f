"""The error types: a JobError crosses process boundaries whole (a stager or worker process raises it)."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

from rapid_croissant.errors import JobError


def _raise_job_error():
    raise JobError("/data/jid7", "/data/jid7/diffimage_masked.fits", "cannot read the object: not found")


def test_a_job_error_pickles_with_its_parts():
    err = pickle.loads(pickle.dumps(JobError("jid7", None, "no objects")))
    assert (err.job, err.file, err.reason, str(err)) == ("jid7", None, "no objects", "jid7: no objects")


def test_a_job_error_raised_in_a_pool_process_reaches_the_caller():
    with ProcessPoolExecutor(max_workers=1) as pool, pytest.raises(JobError) as caught:
        pool.submit(_raise_job_error).result()
    assert str(caught.value) == "jid7/diffimage_masked.fits: cannot read the object: not found"
