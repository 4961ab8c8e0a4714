"""One BLAS thread for the numpy arithmetic a daily command does: the taste model's fit and a search's
matrix-vector product.

Both are small (a few milliseconds on one core). On two shared cores BLAS's own threads, waiting for a
busy second core, made them 5-10× slower (a process's first taste fit took 0.28 s against 0.03 s for 300
decisions over 256 dimensions), so each runs inside `one_blas_thread()`. threadpoolctl is imported only
when a limit is first asked for.
"""

from __future__ import annotations

import functools
from typing import Any


def one_blas_thread() -> Any:
    """A context manager that limits BLAS to one thread while it is open (and restores it after)."""
    return _threadpools().limit(limits=1, user_api="blas")


@functools.cache
def _threadpools() -> Any:
    """The process's BLAS/OpenMP thread pools (the same for every pile), found once (~7 ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
