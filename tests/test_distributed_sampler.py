"""DistributedSampler: the exact index shards torch gives (its mt19937 randperm for seed+epoch),
padding / drop_last, set_epoch, and torch's errors."""
import builtins
import itertools

import pytest
import torch
import torch.utils.data as tdata

import gputensor as gt
from gputensor.utils import data
from gputensor.utils.data._torch_randperm import torch_randperm


@pytest.mark.parametrize("n", [0, 1, 2, 7, 10, 33, 1000])
@pytest.mark.parametrize("seed", [0, 5, 2 ** 32 + 3, -7])
def test_randperm_matches_torch_generator(n, seed):
    g = torch.Generator().manual_seed(seed)
    assert torch_randperm(n, seed) == torch.randperm(n, generator=g).tolist()


def test_gputensor_generator_stream_differs_from_torch():
    """Why the sampler carries its own randperm: gputensor.Generator is PCG64, not mt19937."""
    ours = gt.randperm(50, generator=gt.Generator().manual_seed(0)).tolist()
    theirs = torch.randperm(50, generator=torch.Generator().manual_seed(0)).tolist()
    assert sorted(ours) == sorted(theirs) and ours != theirs


CASES = list(itertools.product([1, 5, 10, 13, 64], [1, 2, 3, 4, 7], [False, True], [False, True]))


@pytest.mark.parametrize("n,replicas,shuffle,drop_last", CASES)
def test_shards_match_torch(n, replicas, shuffle, drop_last):
    for rank in range(replicas):
        ours = data.DistributedSampler(range(n), replicas, rank, shuffle=shuffle, seed=3,
                                       drop_last=drop_last)
        theirs = tdata.DistributedSampler(range(n), replicas, rank, shuffle=shuffle, seed=3,
                                          drop_last=drop_last)
        assert len(ours) == len(theirs)
        for epoch in (0, 1, 4):
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs), (rank, epoch)


def test_epochs_reshuffle_and_shards_partition_dataset():
    shards = [data.DistributedSampler(range(12), 3, r, seed=1) for r in range(3)]
    epoch0 = [list(s) for s in shards]
    assert sorted(sum(epoch0, [])) == list(range(12))
    for s in shards:
        s.set_epoch(1)
    assert [list(s) for s in shards] != epoch0


def test_with_dataloader():
    ds = data.TensorDataset(gt.arange(10))
    tds = tdata.TensorDataset(torch.arange(10))
    ours = data.DataLoader(ds, batch_size=2, sampler=data.DistributedSampler(ds, 2, 1))
    theirs = tdata.DataLoader(tds, batch_size=2, sampler=tdata.DistributedSampler(tds, 2, 1))
    assert [b[0].tolist() for b in ours] == [b[0].tolist() for b in theirs]


def _message(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


@pytest.mark.parametrize("kwargs", [dict(num_replicas=2, rank=2), dict(num_replicas=2, rank=-1),
                                    dict(num_replicas=0, rank=0), dict(rank=0), dict()])
def test_errors_match_torch(kwargs):
    ours = _message(lambda: data.DistributedSampler(range(5), **kwargs))
    theirs = _message(lambda: tdata.DistributedSampler(range(5), **kwargs))
    assert ours == theirs


def test_distributed_package_unavailable(monkeypatch):
    real_import = builtins.__import__

    def no_distributed(name, globals=None, locals=None, fromlist=(), level=0):
        if fromlist and "distributed" in fromlist and level == 3:
            raise ImportError("no gputensor.distributed")
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(RuntimeError, match="^Requires distributed package to be available$"):
        data.DistributedSampler(range(5), rank=0)


def test_initialized_group_supplies_world_and_rank(monkeypatch):
    import gputensor.distributed as dist
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_world_size", lambda group=None: 4)
    monkeypatch.setattr(dist, "get_rank", lambda group=None: 3)
    s = data.DistributedSampler(range(10), shuffle=False)
    assert (s.num_replicas, s.rank, list(s)) == (4, 3, [3, 7, 1])
