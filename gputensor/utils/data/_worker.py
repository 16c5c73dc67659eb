"""Worker processes for ``DataLoader(num_workers>0)``.

Each worker owns an index queue; the main process sends ``(key, indices)`` tasks round-robin and
reorders the answers by ``key``, so batches arrive in sampler order whatever the workers' speed.
"""
from __future__ import annotations

import queue
import random
import traceback
from dataclasses import dataclass

import numpy as np

from ...ops.creation import manual_seed
from ._fetch import IterableFetcher, MapFetcher

EXHAUSTED = "__gputensor_worker_exhausted__"
RESUME = "__gputensor_worker_resume__"  # persistent workers: start the next epoch


@dataclass(frozen=True)
class WorkerInfo:
    id: int
    num_workers: int
    seed: int
    dataset: object


_info: list = [None]


def get_worker_info() -> WorkerInfo | None:
    """Inside a DataLoader worker: its id, worker count, seed and dataset copy; else None."""
    return _info[0]


class WorkerError:
    """An exception raised in a worker, carried back with its formatted traceback."""

    def __init__(self, worker_id: int, exc: BaseException):
        self.exc_type = type(exc)
        self.message = (f"Caught {type(exc).__name__} in DataLoader worker process {worker_id}.\n"
                        f"Original {traceback.format_exc()}")

    def reraise(self):
        try:
            err = self.exc_type(self.message)
        except Exception:
            err = RuntimeError(self.message)
        raise err


def worker_loop(dataset, iterable: bool, auto_collation: bool, batch_size, drop_last: bool,
                collate_fn, worker_init_fn, worker_id: int, num_workers: int, seed: int,
                index_queue, result_queue) -> None:
    """Seed this worker, then answer tasks until the main process sends None."""
    manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    _info[0] = WorkerInfo(worker_id, num_workers, seed, dataset)

    def make_fetcher():
        return (IterableFetcher(dataset, batch_size if auto_collation else None, drop_last,
                                collate_fn) if iterable
                else MapFetcher(dataset, auto_collation, collate_fn))

    fetcher = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
        fetcher = make_fetcher()
        init_error = None
    except Exception as e:  # reported with the first task
        init_error = WorkerError(worker_id, e)
    while True:
        try:
            task = index_queue.get(timeout=5.0)
        except queue.Empty:
            continue
        if task is None:
            break
        key, index = task
        if key is None and index == RESUME:  # acknowledged after every earlier answer
            if init_error is None:
                try:
                    fetcher = make_fetcher()
                except Exception as e:
                    init_error = WorkerError(worker_id, e)
            result_queue.put((None, RESUME))
            continue
        if init_error is not None:
            result_queue.put((key, init_error))
            continue
        try:
            result_queue.put((key, fetcher.fetch(index)))
        except StopIteration:
            result_queue.put((key, EXHAUSTED))
        except Exception as e:
            result_queue.put((key, WorkerError(worker_id, e)))
    result_queue.cancel_join_thread()
