"""DataLoader failure handling with worker processes: ``timeout`` raises within the timeout, a
killed worker is noticed at once, worker exceptions re-raise as torch's do, and no worker outlives
its iterator (after an error, a ``break``, garbage collection, or the main process dying).
Batches come back through shared memory. Timing bounds carry generous slack for a busy machine."""
import gc
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import gputensor as gt
from gputensor.utils import data


class Slow:
    """Map-style dataset: sample i is [i, worker pid] after ``delay`` seconds."""

    def __init__(self, n=20, delay=0.0, fail_at=None, exc=ValueError):
        self.n, self.delay, self.fail_at, self.exc = n, delay, fail_at, exc

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        time.sleep(self.delay)
        if i == self.fail_at:
            raise self.exc(*[f"bad sample {i}", 2][:2 if self.exc is TwoArgError else 1])
        return np.array([i, os.getpid()])


class TwoArgError(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


def _gone(pid: int) -> bool:
    """The process has exited and been reaped (a zombie counts as not gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "X"
    except FileNotFoundError:
        return True


def _wait_gone(pids, limit=5.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if all(_gone(p) for p in pids):
            return True
        time.sleep(0.02)
    return False


def _pids(it):
    return [w.pid for w in it._workers]


def test_timeout_raises_promptly_and_stops_workers():
    it = iter(data.DataLoader(Slow(delay=30), num_workers=2, timeout=1))
    pids = _pids(it)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^DataLoader timed out after 1 seconds$"):
        next(it)
    assert 0.9 <= time.monotonic() - start < 2.0
    assert _wait_gone(pids, 1.0)


def test_timeout_message_matches_torch():
    with pytest.raises(RuntimeError) as theirs:
        next(iter(tdata.DataLoader(Slow(n=1, delay=0.5), num_workers=1, timeout=0.2)))
    with pytest.raises(RuntimeError) as ours:
        next(iter(data.DataLoader(Slow(n=1, delay=0.5), num_workers=1, timeout=0.2)))
    assert str(ours.value) == str(theirs.value)


def test_killed_worker_is_noticed_at_once():
    it = iter(data.DataLoader(Slow(n=40, delay=0.2), num_workers=2))
    next(it)
    pids = _pids(it)
    start = time.monotonic()
    os.kill(pids[0], signal.SIGKILL)
    with pytest.raises(RuntimeError, match=rf"^DataLoader worker \(pid\(s\) {pids[0]}\) exited "
                                           r"unexpectedly$"):
        for _ in range(40):
            next(it)
    assert time.monotonic() - start < 0.5
    assert _wait_gone(pids, 1.0)


def _clean(msg: str) -> str:
    """Drop what legitimately differs between libraries: file paths and line numbers."""
    return "\n".join(line for line in msg.splitlines() if not line.startswith("  "))


def _torch_reraised(ds, index, worker_id):
    """What torch's worker error wrapper raises for the same failure (formatted in-process:
    torch's own worker iterators take ~5 s each to shut down after an error)."""
    from torch._utils import ExceptionWrapper
    try:
        ds[index]
    except Exception:
        wrapper = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
    try:
        wrapper.reraise()
    except Exception as e:
        return e


@pytest.mark.parametrize("exc", [ValueError, KeyError, TwoArgError])
def test_worker_exception_reraised_like_torch(exc):
    ds = Slow(n=6, fail_at=3, exc=exc)
    theirs = _torch_reraised(ds, 3, 1)
    it = iter(data.DataLoader(ds, num_workers=2))
    pids = _pids(it)
    with pytest.raises(Exception) as ours:
        list(it)
    assert type(ours.value) is type(theirs)
    assert _clean(str(ours.value)) == _clean(str(theirs))
    text = str(ours.value)
    assert text.startswith(f"Caught {exc.__name__} in DataLoader worker process 1.\nOriginal "
                           "Traceback (most recent call last):\n")
    assert isinstance(ours.value, RuntimeError if exc is TwoArgError else exc)
    assert "raise self.exc(*[f\"bad sample {i}\", 2]" in text
    assert [int(b[0, 0]) for b in it] == [4, 5]  # as torch: the epoch goes on past it
    assert _wait_gone(pids, 1.0)


def test_no_worker_survives_an_exception_once_released():
    it = iter(data.DataLoader(Slow(n=8, delay=0.1, fail_at=1), num_workers=2))
    pids = _pids(it)
    with pytest.raises(ValueError) as info:
        list(it)
    del it, info  # the traceback held the iterator; now nothing does
    assert _wait_gone(pids, 1.5)


def test_worker_exception_matches_torch_dataloader_end_to_end():
    with pytest.raises(ValueError) as theirs:
        list(tdata.DataLoader(Slow(n=4, fail_at=1), num_workers=1))
    with pytest.raises(ValueError) as ours:
        list(data.DataLoader(Slow(n=4, fail_at=1), num_workers=1))
    assert _clean(str(ours.value)) == _clean(str(theirs.value))


@pytest.mark.parametrize("how", ["break", "gc"])
def test_no_worker_survives_break_or_gc(how):
    gc.collect()  # earlier tests' torch iterators join their workers here, not below
    loader = data.DataLoader(Slow(n=60, delay=0.3), batch_size=2, num_workers=2)
    if how == "break":
        start = time.monotonic()
        for batch in loader:
            pids = sorted(set(batch[:, 1].tolist()))
            break
    else:
        it = iter(loader)
        batch = next(it)
        pids = _pids(it)
        start = time.monotonic()
        del it  # the last reference: shuts down here
    assert time.monotonic() - start < 1.5  # busy workers are terminated, not waited for
    assert _wait_gone(pids, 1.0)


def test_persistent_workers_keep_processes_between_epochs():
    loader = data.DataLoader(Slow(n=6), batch_size=2, num_workers=2, persistent_workers=True)
    epochs = [sorted({int(p) for b in loader for p in b[:, 1].tolist()}) for _ in range(3)]
    assert epochs[0] == epochs[1] == epochs[2] and len(epochs[0]) == 2
    del loader  # no reference cycle: the workers stop here, without a gc pass
    assert _wait_gone(epochs[0], 2.0)


@pytest.mark.parametrize("context", [None, "spawn"])
def test_batches_come_back_in_shared_memory(context):
    ds = data.TensorDataset(gt.arange(24.0).reshape(12, 2))  # a view: sent to spawn as a copy
    batches = list(data.DataLoader(ds, batch_size=4, num_workers=2,
                                   multiprocessing_context=context))
    assert all(b[0].is_shared() for b in batches)
    assert gt.cat([b[0] for b in batches]).tolist() == gt.arange(24.0).reshape(12, 2).tolist()
    custom = list(data.DataLoader(ds, batch_size=4, num_workers=1, collate_fn=lambda b: b[0][0]))
    assert all(t.is_shared() for t in custom)  # moved into shared memory when sent


def test_unsendable_batch_is_reported_not_hung():
    loader = data.DataLoader(Slow(n=4), num_workers=1, collate_fn=lambda b: (lambda: 0),
                             timeout=30)
    start = time.monotonic()
    with pytest.raises(Exception, match="Caught .* in DataLoader worker process 0"):
        next(iter(loader))
    assert time.monotonic() - start < 10


def test_pin_memory_is_a_noop_and_warns_without_accelerator(monkeypatch):
    ds = data.TensorDataset(gt.arange(6))
    assert [b[0].tolist() for b in data.DataLoader(ds, batch_size=2, pin_memory=True)] == \
        [[0, 1], [2, 3], [4, 5]]
    monkeypatch.setattr(gt.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning) as ours:
        list(data.DataLoader(ds, pin_memory=True))
    if not torch.cuda.is_available():
        with pytest.warns(UserWarning) as theirs:
            list(tdata.DataLoader(tdata.TensorDataset(torch.arange(6)), pin_memory=True))
        assert str(ours[0].message) == str(theirs[0].message)


_SCRIPT = textwrap.dedent("""
    import os, sys, time, signal
    import numpy as np
    from gputensor.utils import data
    class DS:
        def __len__(self): return 100
        def __getitem__(self, i):
            time.sleep(0.05); return np.array([i])
    it = iter(data.DataLoader(DS(), num_workers=2))
    next(it)
    print(" ".join(str(w.pid) for w in it._workers), flush=True)
    if sys.argv[1] == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if sys.argv[1] == "leave":  # iterators still alive at interpreter exit
        persistent = data.DataLoader(DS(), num_workers=2, persistent_workers=True)
        for b in persistent:
            break
        sys.exit(0)
    for i, b in enumerate(it):
        if i == 3:
            break
    del it
""")


def test_main_process_death_leaves_no_orphans():
    out = subprocess.run([sys.executable, "-c", _SCRIPT, "die"], capture_output=True, text=True,
                         timeout=120)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2 and _wait_gone(pids, 5.0)


@pytest.mark.parametrize("mode", ["break", "leave"])
def test_clean_exit_prints_no_worker_errors(mode):
    out = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "Traceback" not in out.stderr and "Error" not in out.stderr
    assert _wait_gone([int(p) for p in out.stdout.split()], 5.0)
