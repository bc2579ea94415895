"""Shared set-up of the results tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(scope="module", autouse=True)
def _one_openmp_thread() -> Iterator[None]:
    """Run scikit-learn's gradient boosting (OpenMP) on one thread in these modules.

    On a small, busy machine libgomp's worker threads spin against the other processes: one
    cross-fitted classifier test on 600 jets took 73 s with the default two threads and 0.9 s
    with one. The scores do not depend on the thread count. Module scope: the limit is lifted
    again before tests of other directories run.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        yield
