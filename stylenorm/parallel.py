"""One way to spread a per-item function over processes, shared by the data stages."""
from __future__ import annotations

import contextlib
from multiprocessing import Pool
from typing import Callable, Iterator


@contextlib.contextmanager
def worker_map(workers: int, chunksize: int = 8) -> Iterator[Callable]:
    """Yield ``map(fn, items)``: lazy and in order, over ``workers`` processes (in this one for 1)."""
    if workers <= 1:
        yield map
        return
    pool = Pool(workers)
    try:
        yield lambda fn, items: pool.imap(fn, items, chunksize=chunksize)
    finally:
        pool.close()
        pool.join()
