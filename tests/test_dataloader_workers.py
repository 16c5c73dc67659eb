"""DataLoader worker processes: ``worker_init_fn`` runs exactly once per worker, with its id,
in that worker, before any sample is fetched; ``get_worker_info()`` inside workers; persistent
workers; compared with torch's DataLoader where the behaviour is observable."""
import os

import numpy as np
import pytest
import torch.utils.data as tdata

import gputensor as gt
from gputensor.utils import data

_STATE = {"init_id": None}


def _init_fn(worker_id):
    """Records the call in a file (one per call) and in the worker's module state."""
    folder = os.environ["GT_TEST_INIT_DIR"]
    with open(os.path.join(folder, f"{os.getpid()}-{worker_id}-{len(os.listdir(folder))}"),
              "w") as f:
        f.write(str(worker_id))
    _STATE["init_id"] = worker_id


def _init_id():
    return -1 if _STATE["init_id"] is None else _STATE["init_id"]


class Probe:
    """Map-style dataset whose samples report where and how they were produced."""

    def __init__(self, n, lib_info):
        self.n, self.lib_info = n, lib_info

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        info = self.lib_info()
        return np.array([i, info.id, info.num_workers, _init_id(), os.getpid(),
                         id(info.dataset) == id(self)], dtype=np.int64)


class ProbeStream:
    """Iterable dataset: each worker streams its own shard (chosen through get_worker_info)."""

    def __init__(self, n, lib_info):
        self.n, self.lib_info = n, lib_info

    def __iter__(self):
        info = self.lib_info()
        return iter([np.array([k, info.id, _init_id()], dtype=np.int64)
                     for k in range(info.id, self.n, info.num_workers)])


class GtProbeStream(ProbeStream, data.IterableDataset):
    pass


class TorchProbeStream(ProbeStream, tdata.IterableDataset):
    pass


def _rows(loader):
    return [tuple(int(v) for v in np.asarray(row)) for b in loader for row in np.asarray(
        b.numpy() if hasattr(b, "numpy") else b)]


@pytest.fixture
def init_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GT_TEST_INIT_DIR", str(tmp_path))
    return tmp_path


def _calls(folder):
    """(pid, worker_id) of every recorded worker_init_fn call."""
    out = []
    for name in os.listdir(folder):
        pid, wid, _ = name.split("-")
        out.append((int(pid), int(wid)))
    return sorted(out, key=lambda c: c[1])


@pytest.mark.parametrize("batch_size", [1, 3])
def test_worker_init_fn_called_once_per_worker_with_its_id(init_dir, batch_size):
    loader = data.DataLoader(Probe(7, data.get_worker_info), batch_size=batch_size,
                             num_workers=2, worker_init_fn=_init_fn)
    rows = _rows(loader)
    calls = _calls(init_dir)
    assert [w for _, w in calls] == [0, 1]  # once each, with the worker's id
    pids = {w: p for p, w in calls}
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
    assert [r[0] for r in rows] == list(range(7))  # sampler order kept
    for i, wid, nw, init_id, pid, same_dataset in rows:
        assert nw == 2
        assert init_id == wid  # the init fn ran in this very worker before it fetched
        assert pid == pids[wid]
        assert same_dataset  # info.dataset is the dataset object the worker fetches from
    assert _STATE["init_id"] is None  # nothing ran in the main process
    assert data.get_worker_info() is None


def test_worker_assignment_matches_torch(init_dir):
    """Batches go to workers round-robin in torch; the same (index, worker) pairs here."""
    g = _rows(data.DataLoader(Probe(9, data.get_worker_info), batch_size=2, num_workers=2,
                              worker_init_fn=_init_fn))
    t = _rows(tdata.DataLoader(Probe(9, tdata.get_worker_info), batch_size=2, num_workers=2,
                               worker_init_fn=_init_fn))
    assert [r[:4] for r in g] == [r[:4] for r in t]


def test_iterable_dataset_shards_with_worker_info_like_torch(init_dir):
    g = _rows(data.DataLoader(GtProbeStream(9, data.get_worker_info), batch_size=2,
                              num_workers=2, worker_init_fn=_init_fn))
    t = _rows(tdata.DataLoader(TorchProbeStream(9, tdata.get_worker_info), batch_size=2,
                               num_workers=2, worker_init_fn=_init_fn))
    assert g == t
    assert sorted(r[0] for r in g) == list(range(9))
    assert all(r[1] == r[2] for r in g)


def _seed_probe(i):
    info = data.get_worker_info()
    return np.array([info.id, info.seed, gt.initial_seed(), int(gt.randint(0, 10 ** 9, (1,)))])


class SeedProbe:
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return _seed_probe(i)


def test_worker_seeds_are_distinct_and_applied():
    rows = _rows(data.DataLoader(SeedProbe(), batch_size=1, num_workers=2,
                                 generator=gt.Generator().manual_seed(3)))
    by_worker = {r[0]: r for r in rows}
    assert by_worker[0][1] + 1 == by_worker[1][1]  # base_seed + worker id, as torch
    assert all(r[1] == r[2] for r in rows)  # the worker's global generator is seeded with it
    assert by_worker[0][3] != by_worker[1][3]
    again = _rows(data.DataLoader(SeedProbe(), batch_size=1, num_workers=2,
                                  generator=gt.Generator().manual_seed(3)))
    assert again == rows  # reproducible from the loader's generator


@pytest.mark.parametrize("persistent", [False, True])
def test_epochs_and_persistent_workers_match_torch(init_dir, persistent):
    """torch re-runs worker_init_fn every epoch, except with persistent_workers."""
    counts = []
    for lib, info in ((data, data.get_worker_info), (tdata, tdata.get_worker_info)):
        loader = lib.DataLoader(Probe(5, info), batch_size=2, num_workers=2,
                                worker_init_fn=_init_fn, persistent_workers=persistent)
        epochs = [_rows(loader) for _ in range(3)]
        assert all([r[0] for r in e] == list(range(5)) for e in epochs)
        counts.append(len(os.listdir(init_dir)))
        pids = {p for p, _ in _calls(init_dir)}
        for name in os.listdir(init_dir):
            os.remove(os.path.join(init_dir, name))
        if persistent:
            assert len(pids) == 2
            assert {r[4] for e in epochs for r in e} == pids  # the same two processes
    assert counts[0] == counts[1] == (2 if persistent else 6)


def test_persistent_workers_restart_iterable_and_abandoned_epoch(init_dir):
    loader = data.DataLoader(GtProbeStream(7, data.get_worker_info), batch_size=2,
                             num_workers=2, persistent_workers=True)
    first = _rows(loader)
    it = iter(loader)
    next(it)  # abandon this epoch early: its prefetched batches must not leak into the next
    assert _rows(loader) == first


def test_persistent_workers_need_workers():
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        data.DataLoader(Probe(3, data.get_worker_info), persistent_workers=True)


def _bad_init(worker_id):
    if worker_id == 1:
        raise ValueError("init failed in worker 1")


def test_worker_init_fn_error_is_reraised():
    loader = data.DataLoader(Probe(4, data.get_worker_info), batch_size=1, num_workers=2,
                             worker_init_fn=_bad_init)
    with pytest.raises(ValueError, match="init failed in worker 1"):
        _rows(loader)
