"""The shared BLAS limiter: one thread while it is open, the process's own setting again after."""

from threadpoolctl import threadpool_info

from sabbatical.reading.blas import one_blas_thread


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_blas_runs_on_one_thread_inside_and_as_before_after() -> None:
    import numpy as np

    np.ones((4, 4)) @ np.ones(4)  # numpy's BLAS is loaded, so threadpoolctl sees it
    before = _blas_threads()
    assert before, "numpy's BLAS should be visible to threadpoolctl"
    with one_blas_thread():
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before
