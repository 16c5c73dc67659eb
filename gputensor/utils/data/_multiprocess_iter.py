"""The ``DataLoader`` iterator with worker processes.

Waiting for an answer blocks on the result pipe *and* every worker's process sentinel at once
(``multiprocessing.connection.wait``), so a worker that dies is noticed at once (torch uses a
SIGCHLD handler for this) and ``timeout`` is honoured to the tick. A timeout or a dead worker shuts
the workers down without a long join: a shared ``done`` event makes them skip queued tasks, and
stragglers still busy after a short grace are terminated, so no worker outlives its iterator. A
batch whose fetch raised is re-raised and the epoch may go on, as in torch.
"""
from __future__ import annotations

import copy
import multiprocessing
import multiprocessing.connection
import time

from ._worker import EXHAUSTED, RESUME, WorkerError, decode, worker_loop

_CLEAN_GRACE_S = 5.0   # end of epoch: idle workers exit at once; this bounds a stuck one
_ABORT_GRACE_S = 0.1   # break / error / timeout / gc: workers may be mid-fetch


def _snapshot(loader):
    """A shallow copy of the loader without its persistent iterator: the loader may own this
    iterator without a reference cycle, so dropping the loader stops the workers at once."""
    view = copy.copy(loader)
    view._iterator = None
    return view


class MultiProcessIter:
    """Keeps ``prefetch_factor * num_workers`` tasks in flight and yields answers in task order.

    Map-style tasks carry index lists; iterable tasks ask a worker for its next batch, and a
    worker that reports exhaustion gets no further tasks (batches interleave round-robin).
    """

    def __init__(self, loader, base_seed: int):
        self._loader = loader = _snapshot(loader)
        self._done = False
        self._index_queues, self._workers = [], []
        mpc = loader.multiprocessing_context
        ctx = multiprocessing.get_context(mpc) if isinstance(mpc, (str, type(None))) else mpc
        self._results = ctx.Queue()
        self._done_event = ctx.Event()
        try:
            for wid in range(loader.num_workers):
                iq = ctx.Queue()
                iq.cancel_join_thread()  # never block exit flushing tasks nobody will read
                w = ctx.Process(target=worker_loop, daemon=True, args=(
                    loader.dataset, loader._iterable, loader._auto_collation, loader.batch_size,
                    loader.drop_last, loader.collate_fn, loader.worker_init_fn, wid,
                    loader.num_workers, base_seed + wid, iq, self._results, self._done_event))
                w.start()
                self._index_queues.append(iq)
                self._workers.append(w)
        except BaseException:
            self._shutdown(_ABORT_GRACE_S)
            raise
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

    def _reset(self, loader) -> None:
        """Persistent workers: drop what an unfinished epoch left in flight, restart workers'
        streams (each acknowledges after all its earlier answers), then prefetch anew."""
        if self._done:
            raise RuntimeError("DataLoader's persistent workers have been shut down")
        self._loader = _snapshot(loader)
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
                    self._shutdown(_CLEAN_GRACE_S)
                break
            key = self._received
            while key not in self._pending:
                k, data = self._get()
                self._pending[k] = data
            data = self._pending.pop(key)
            self._received += 1
            wid = self._owner.pop(key)
            if isinstance(data, WorkerError):
                self._send()  # as torch: the epoch may go on past a failed batch
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
        """The next answer; raises at once if a worker died, or after ``timeout`` seconds."""
        timeout = self._loader.timeout
        deadline = time.monotonic() + timeout if timeout else None
        reader = self._results._reader
        sentinels = [w.sentinel for w in self._workers]
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = multiprocessing.connection.wait([reader] + sentinels, timeout=left)
            dead = [w for w in self._workers if w.sentinel in ready or w.exitcode is not None]
            if not dead and reader in ready:
                return decode(self._results.get())
            if dead:
                self._shutdown(0.0)
                pids = ", ".join(str(w.pid) for w in dead)
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly")
            if deadline is not None and time.monotonic() >= deadline:
                self._shutdown(0.0)
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds")

    def _shutdown(self, grace: float = _ABORT_GRACE_S) -> None:
        """Stop every worker within ``grace`` seconds (terminating stragglers), then close the
        queues; the result pipe is closed last so no worker writes into a closed pipe."""
        if self._done:
            return
        self._done = True
        self._done_event.set()
        for iq in self._index_queues:
            try:
                iq.put(None)
            except (OSError, ValueError):
                pass
        end = time.monotonic() + grace
        for w in self._workers:
            w.join(max(0.0, end - time.monotonic()))
        for w in self._workers:
            if w.exitcode is None:
                w.terminate()
        for w in self._workers:
            w.join(1.0)
            if w.exitcode is None:
                w.kill()
                w.join()
        for q in self._index_queues + [self._results]:
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        if getattr(self, "_done_event", None) is not None:  # __init__ got that far
            self._shutdown(_ABORT_GRACE_S)

    def __len__(self) -> int:
        return len(self._loader)
