"""Worker processes for ``DataLoader(num_workers>0)``.

Each worker owns an index queue; the main process sends ``(key, indices)`` tasks round-robin and
reorders the answers by ``key``, so batches arrive in sampler order whatever the workers' speed.
"""
from __future__ import annotations

import os
import queue
import random
import traceback
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler

import numpy as np

from ... import multiprocessing as _mp  # noqa: F401  (registers the shared-memory reducers)
from ...ops.creation import manual_seed
from ._fetch import IterableFetcher, MapFetcher

_POLL_S = 1.0  # how often an idle worker checks that its parent is still alive

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


class KeyErrorMessage(str):
    """KeyError shows ``repr`` of its argument; this keeps the traceback text readable."""

    def __repr__(self):
        return self


class WorkerError:
    """An exception raised in a worker, carried back with its formatted traceback; re-raised
    as torch's ``ExceptionWrapper`` does (same type, "Caught X in DataLoader worker process N")."""

    def __init__(self, worker_id: int, exc: BaseException):
        self.exc_type = type(exc)
        self.message = (f"Caught {type(exc).__name__} in DataLoader worker process {worker_id}.\n"
                        f"Original {''.join(traceback.format_exception(exc))}")

    def reraise(self):
        msg = self.message
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            err = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        try:
            raise err
        finally:
            del err  # no exception -> traceback -> frame -> exception cycle keeping workers up


def _encode(worker_id: int, key, data) -> bytes:
    """Pickle an answer here, in the worker's own thread, so that a batch that cannot be sent
    (a cuda tensor, an unpicklable object) becomes a reported error instead of a silent hang.
    Tensors go by shared memory (see ``gputensor.multiprocessing.reductions``)."""
    try:
        return bytes(ForkingPickler.dumps((key, data)))
    except Exception as e:
        err = WorkerError(worker_id, e)
        try:
            return bytes(ForkingPickler.dumps((key, err)))
        except Exception:  # the exception's own type cannot be pickled
            err.exc_type = RuntimeError
            return bytes(ForkingPickler.dumps((key, err)))


def decode(payload: bytes):
    return ForkingPickler.loads(payload)


def worker_loop(dataset, iterable: bool, auto_collation: bool, batch_size, drop_last: bool,
                collate_fn, worker_init_fn, worker_id: int, num_workers: int, seed: int,
                index_queue, result_queue, done_event=None) -> None:
    """Seed this worker, then answer tasks until the main process sends None (or dies)."""
    try:
        _loop(dataset, iterable, auto_collation, batch_size, drop_last, collate_fn,
              worker_init_fn, worker_id, num_workers, seed, index_queue, result_queue,
              done_event)
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches the whole process group; the main process reports it
    if done_event is not None and done_event.is_set():
        result_queue.cancel_join_thread()
        result_queue.close()


def _loop(dataset, iterable, auto_collation, batch_size, drop_last, collate_fn, worker_init_fn,
          worker_id, num_workers, seed, index_queue, result_queue, done_event):
    parent = os.getppid()  # the main process (or, for forkserver, the server that dies with it)
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
            task = index_queue.get(timeout=_POLL_S)
        except queue.Empty:
            if os.getppid() != parent:
                break  # orphaned: the main process died without shutting us down
            continue
        if task is None:
            break
        if done_event is not None and done_event.is_set():
            continue  # shutting down: skip queued tasks until None arrives
        key, index = task
        if key is None and index == RESUME:  # acknowledged after every earlier answer
            if init_error is None:
                try:
                    fetcher = make_fetcher()
                except Exception as e:
                    init_error = WorkerError(worker_id, e)
            result_queue.put(_encode(worker_id, None, RESUME))
            continue
        if init_error is not None:
            result_queue.put(_encode(worker_id, key, init_error))
            continue
        try:
            answer = fetcher.fetch(index)
        except StopIteration:
            answer = EXHAUSTED
        except Exception as e:
            answer = WorkerError(worker_id, e)
        result_queue.put(_encode(worker_id, key, answer))
        del answer
    result_queue.cancel_join_thread()
