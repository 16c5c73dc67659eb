"""utils.data: datasets, samplers, collation and DataLoader semantics (incl. worker processes)."""
from collections import OrderedDict, namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import gputensor as gt
from gputensor.utils import data


def _np(t):
    return t.detach().cpu().numpy()


class Squares(data.Dataset):
    def __init__(self, n: int):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return {"x": np.full(2, i, np.float32), "y": i * i, "name": f"s{i}"}


class Stream(data.IterableDataset):
    """Each worker streams its own share: worker w yields w*100 .. w*100+n-1."""

    def __init__(self, n: int):
        self.n = n

    def __iter__(self):
        info = data.get_worker_info()
        base = 0 if info is None else info.id * 100
        return iter(range(base, base + self.n))

    def __len__(self):
        return self.n


def test_tensor_dataset_and_batches_match_torch(device):
    x = np.arange(21, dtype=np.float32).reshape(7, 3)
    y = np.arange(7)
    g = data.DataLoader(data.TensorDataset(gt.tensor(x, device=device), gt.tensor(y, device=device)),
                        batch_size=3)
    t = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=3)
    assert len(g) == len(t) == 3
    for (gx, gy), (tx, ty) in zip(g, t, strict=True):
        assert gx.device.type == device and gx.dtype == gt.float32 and gy.dtype == gt.int64
        np.testing.assert_array_equal(_np(gx), tx.numpy())
        np.testing.assert_array_equal(_np(gy), ty.numpy())


def test_tensor_dataset_size_mismatch():
    with pytest.raises(ValueError, match="Size mismatch"):
        data.TensorDataset(gt.zeros(3), gt.zeros(4))


def test_default_collate_matches_torch_structures():
    Point = namedtuple("Point", "a b")
    samples = [(np.float64(i), i, float(i) / 2, True, f"n{i}", Point(i, np.ones(2) * i),
                OrderedDict(k=[i, i + 1]), torch.arange(3) * i) for i in range(4)]
    t_out = tdata.default_collate(samples)
    g_out = data.default_collate([s[:-1] + (gt.arange(3) * i,) for i, s in enumerate(samples)])
    assert type(g_out) is type(t_out) is list

    def check(g, t):
        if isinstance(t, torch.Tensor):
            assert isinstance(g, gt.Tensor) and g.dtype.name == str(t.dtype)[6:]
            np.testing.assert_array_equal(_np(g), t.numpy())
        elif isinstance(t, dict):
            assert type(g) is type(t) and list(g) == list(t)
            for k in t:
                check(g[k], t[k])
        elif isinstance(t, (list, tuple)):
            assert type(g) is type(t) and len(g) == len(t)
            for a, b in zip(g, t):
                check(a, b)
        else:
            assert g == t

    check(g_out, t_out)


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="equal size"):
        data.default_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="equal size"):
        data.default_collate([gt.zeros(2), gt.zeros(3)])
    with pytest.raises(TypeError, match="default_collate"):
        data.default_collate([object(), object()])


def test_shuffle_is_seedable_and_a_permutation_each_epoch():
    ds = Squares(10)

    def epochs(seed):
        loader = data.DataLoader(ds, batch_size=4, shuffle=True,
                                 generator=gt.Generator().manual_seed(seed))
        return [[int(v) for b in loader for v in _np(b["y"])] for _ in range(2)]

    a, b, c = epochs(3), epochs(3), epochs(4)
    assert a == b and a != c
    assert a[0] != a[1], "each epoch draws a new order"
    for order in a + c:
        assert sorted(order) == [i * i for i in range(10)]


def test_drop_last_len_and_batch_sampler():
    ds = Squares(10)
    loader = data.DataLoader(ds, batch_size=4, drop_last=True)
    assert len(loader) == 2 and [len(b["y"]) for b in loader] == [4, 4]
    bs = data.BatchSampler(data.SequentialSampler(ds), 3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]] == list(tdata.BatchSampler(range(10), 3, False))
    loader = data.DataLoader(ds, batch_sampler=[[9, 0], [5]])
    assert [_np(b["y"]).tolist() for b in loader] == [[81, 0], [25]]
    assert [b["name"] for b in loader] == [["s9", "s0"], ["s5"]]
    with pytest.raises(ValueError, match="mutually exclusive"):
        data.DataLoader(ds, batch_sampler=bs, batch_size=2)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        data.DataLoader(ds, sampler=data.SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="positive integer"):
        data.BatchSampler(range(3), 0, False)


def test_custom_sampler_collate_fn_and_no_batching():
    ds = Squares(6)
    loader = data.DataLoader(ds, batch_size=2, sampler=[5, 4, 3, 2],
                             collate_fn=lambda b: [s["y"] for s in b])
    assert list(loader) == [[25, 16], [9, 4]]
    single = list(data.DataLoader(ds, batch_size=None, sampler=[2, 1]))
    assert isinstance(single[0]["x"], gt.Tensor) and single[0]["y"] == 4
    np.testing.assert_array_equal(_np(single[1]["x"]), [1.0, 1.0])


def test_samplers():
    gen = gt.Generator().manual_seed(0)
    sub = list(data.SubsetRandomSampler([10, 20, 30, 40], generator=gen))
    assert sorted(sub) == [10, 20, 30, 40]
    rs = data.RandomSampler(range(5), num_samples=12, generator=gen)
    drawn = list(rs)
    assert len(rs) == len(drawn) == 12 and sorted(drawn[:10]) == sorted(list(range(5)) * 2)
    rep = list(data.RandomSampler(range(3), replacement=True, num_samples=20, generator=gen))
    assert len(rep) == 20 and set(rep) <= {0, 1, 2}
    with pytest.raises(ValueError, match="num_samples"):
        data.RandomSampler(range(3), num_samples=0)


def test_subset_concat_and_random_split():
    a, b = Squares(3), Squares(4)
    cat = a + b
    assert len(cat) == 7 and cat[3]["y"] == 0 and cat[-1]["y"] == 9 and cat[2]["y"] == 4
    with pytest.raises(IndexError):
        cat[7]
    sub = data.Subset(b, [3, 1])
    assert len(sub) == 2 and sub[0]["y"] == 9
    parts = data.random_split(Squares(10), [0.5, 0.3, 0.2], generator=gt.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [5, 3, 2]
    assert sorted(i for p in parts for i in p.indices) == list(range(10))
    again = data.random_split(Squares(10), [5, 3, 2], generator=gt.Generator().manual_seed(1))
    assert [p.indices for p in again] == [p.indices for p in parts]
    assert [len(p) for p in data.random_split(Squares(7), [0.5, 0.5])] == [4, 3]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        data.random_split(Squares(10), [5, 6])
    with pytest.raises(TypeError, match="IterableDataset"):
        data.ConcatDataset([a, Stream(2)])


def test_iterable_dataset_single_process_matches_torch():
    class TStream(tdata.IterableDataset):
        def __iter__(self):
            return iter(range(7))

    g = [_np(b).tolist() for b in data.DataLoader(Stream(7), batch_size=3)]
    t = [b.tolist() for b in tdata.DataLoader(TStream(), batch_size=3)]
    assert g == t == [[0, 1, 2], [3, 4, 5], [6]]
    assert [_np(b).tolist() for b in data.DataLoader(Stream(7), batch_size=3, drop_last=True)] \
        == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="IterableDataset"):
        data.DataLoader(Stream(3), shuffle=True)


def test_workers_keep_batch_order_and_contents():
    ds = Squares(11)
    single = list(data.DataLoader(ds, batch_size=2, shuffle=True,
                                  generator=gt.Generator().manual_seed(5)))
    multi = list(data.DataLoader(ds, batch_size=2, shuffle=True, num_workers=2,
                                 generator=gt.Generator().manual_seed(5)))
    assert len(multi) == len(single) == 6
    for s, m in zip(single, multi):
        np.testing.assert_array_equal(_np(s["x"]), _np(m["x"]))
        assert s["name"] == m["name"]


def test_workers_iterable_round_robin_and_worker_info():
    seen = list(data.DataLoader(Stream(5), batch_size=2, num_workers=2))
    assert [_np(b).tolist() for b in seen] == [[0, 1], [100, 101], [2, 3], [102, 103], [4], [104]]


class Failing(data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise KeyError("bad sample 2")
        return i


def test_worker_exception_is_reraised_with_traceback():
    loader = data.DataLoader(Failing(), batch_size=1, num_workers=2)
    with pytest.raises(KeyError, match="worker process") as info:
        list(loader)
    assert "bad sample 2" in str(info.value)


def test_worker_init_fn_runs_in_each_worker():
    class WorkerIds(data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return data.get_worker_info().id

    ids = [int(v) for b in data.DataLoader(WorkerIds(), batch_size=1, num_workers=2) for v in _np(b)]
    assert ids == [0, 1, 0, 1]
    assert data.get_worker_info() is None
