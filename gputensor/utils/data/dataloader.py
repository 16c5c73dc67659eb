"""``DataLoader``: batches from a dataset, in the main process or in ordered worker processes."""
from __future__ import annotations

import multiprocessing
import queue
import time
from typing import Callable, Iterable

from ..._generator import Generator, host_rng
from ._fetch import IterableFetcher, MapFetcher
from ._worker import EXHAUSTED, RESUME, WorkerError, worker_loop
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler


class DataLoader:
    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Callable | None = None,
                 multiprocessing_context=None, generator: Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = ""):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing. "
                             "let num_workers > 0 to enable multiprocessing.")
        self.dataset, self.num_workers, self.timeout = dataset, num_workers, timeout
        self.prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
        self.worker_init_fn, self.generator = worker_init_fn, generator
        self.multiprocessing_context = multiprocessing_context
        self.pin_memory, self.persistent_workers = pin_memory, persistent_workers
        self._iterable = isinstance(dataset, IterableDataset)
        self._iterator = None  # the persistent workers' iterator, reused every epoch
        if self._iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None and not self._iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._auto_collation = batch_sampler is not None or (self._iterable and
                                                              batch_size is not None)
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_sampler())

    def __iter__(self):
        if self.persistent_workers and self._iterator is not None and not self._iterator._done:
            self._iterator._reset()  # same workers (and seeds), next epoch: as torch
            return self._iterator
        # Drawn in both modes (as torch does) so a seeded generator gives the same order either way.
        base_seed = int(host_rng(self.generator).integers(0, 2 ** 62))
        if self.num_workers == 0:
            return self._single_process()
        it = _MultiProcessIter(self, base_seed)
        if self.persistent_workers:
            self._iterator = it
        return it

    def _single_process(self):
        if self._iterable:
            fetcher = IterableFetcher(self.dataset, self.batch_size, self.drop_last,
                                      self.collate_fn)
            while True:
                try:
                    batch = fetcher.fetch()
                except StopIteration:
                    return
                yield batch
        fetcher = MapFetcher(self.dataset, self._auto_collation, self.collate_fn)
        for index in self._index_sampler():
            yield fetcher.fetch(index)


class _MultiProcessIter:
    """Keeps ``prefetch_factor * num_workers`` tasks in flight and yields answers in task order.

    Map-style tasks carry index lists; iterable tasks ask a worker for its next batch, and a
    worker that reports exhaustion gets no further tasks (batches interleave round-robin).
    """

    _POLL_S = 1.0

    def __init__(self, loader: DataLoader, base_seed: int):
        self._loader = loader
        self._done = False
        self._index_queues, self._workers = [], []
        ctx = multiprocessing.get_context(loader.multiprocessing_context) \
            if isinstance(loader.multiprocessing_context, (str, type(None))) \
            else loader.multiprocessing_context
        self._results = ctx.Queue()
        for wid in range(loader.num_workers):
            iq = ctx.Queue()
            w = ctx.Process(target=worker_loop, daemon=True, args=(
                loader.dataset, loader._iterable, loader._auto_collation, loader.batch_size,
                loader.drop_last, loader.collate_fn, loader.worker_init_fn, wid,
                loader.num_workers, base_seed + wid, iq, self._results))
            w.start()
            self._index_queues.append(iq)
            self._workers.append(w)
        self._start_epoch()

    def _start_epoch(self) -> None:
        loader = self._loader
        self._tasks = None if loader._iterable else iter(loader._index_sampler())
        self._active = list(range(loader.num_workers))
        self._next_worker = 0
        self._sent = self._received = 0
        self._pending: dict[int, object] = {}
        self._owner: dict[int, int] = {}
        for _ in range(loader.prefetch_factor * loader.num_workers):
            if not self._send():
                break

    def _reset(self) -> None:
        """Persistent workers: drop what an unfinished epoch left in flight, restart workers'
        streams (each acknowledges after all its earlier answers), then prefetch anew."""
        if self._done:
            raise RuntimeError("DataLoader's persistent workers have been shut down")
        for iq in self._index_queues:
            iq.put((None, RESUME))
        acks = 0
        while acks < len(self._workers):
            key, data = self._get()
            acks += key is None and isinstance(data, str) and data == RESUME
        self._start_epoch()

    def _send(self) -> bool:
        """Queue one more task; False when there is nothing left to ask for."""
        if self._tasks is not None:
            try:
                index = next(self._tasks)
            except StopIteration:
                return False
            wid = self._sent % len(self._workers)
        else:
            if not self._active:
                return False
            wid = self._active[self._next_worker % len(self._active)]
            self._next_worker += 1
            index = None
        self._index_queues[wid].put((self._sent, index))
        self._owner[self._sent] = wid
        self._sent += 1
        return True

    def __iter__(self):
        return self

    def __next__(self):
        while not self._done:
            if self._received == self._sent:
                if not self._loader.persistent_workers:
                    self._shutdown()
                break
            key = self._received
            while key not in self._pending:
                k, data = self._get()
                self._pending[k] = data
            data = self._pending.pop(key)
            self._received += 1
            wid = self._owner.pop(key)
            if isinstance(data, WorkerError):
                self._shutdown()
                data.reraise()
            if isinstance(data, str) and data == EXHAUSTED:
                if wid in self._active:
                    self._active.remove(wid)
                self._send()
                continue
            self._send()
            return data
        raise StopIteration

    def _get(self):
        deadline = time.monotonic() + self._loader.timeout if self._loader.timeout else None
        while True:
            try:
                return self._results.get(timeout=self._POLL_S)
            except queue.Empty:
                dead = [w.pid for w in self._workers if not w.is_alive()]
                if dead:
                    self._shutdown()
                    raise RuntimeError(f"DataLoader worker (pid(s) {dead}) exited "
                                       "unexpectedly") from None
                if deadline is not None and time.monotonic() > deadline:
                    self._shutdown()
                    raise RuntimeError(f"DataLoader timed out after {self._loader.timeout} "
                                       "seconds") from None

    def _shutdown(self) -> None:
        if self._done:
            return
        self._done = True
        for iq in self._index_queues:
            iq.put(None)
        for w in self._workers:
            w.join(timeout=5.0)
            if w.is_alive():
                w.terminate()
                w.join()
        for q in self._index_queues + [self._results]:
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        self._shutdown()

    def __len__(self) -> int:
        return len(self._loader)
