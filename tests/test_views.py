"""Views share storage (and the version counter) with their base, as in torch; copies don't."""
import numpy as np
import pytest

import gputensor as gt

VIEWS = [
    ("int", lambda x: x[1]),
    ("slice", lambda x: x[:, 1:4:2]),
    ("none_ellipsis", lambda x: x[None, ..., 2]),
    ("view", lambda x: x.view(5, 3)),
    ("reshape", lambda x: x.reshape(-1)),
    ("t", lambda x: x.t()),
    ("T", lambda x: x.T),
    ("permute", lambda x: x.permute(1, 0)),
    ("narrow", lambda x: x.narrow(1, 2, 2)),
    ("select", lambda x: x.select(0, -1)),
    ("unsqueeze", lambda x: x.unsqueeze(1)),
    ("squeeze", lambda x: x[None].squeeze(0)),
    ("flatten", lambda x: x.flatten()),
    ("unflatten", lambda x: x.unflatten(1, (5, 1))),
    ("movedim", lambda x: x.movedim(0, 1)),
    ("split", lambda x: x.split(2, 1)[1]),
    ("chunk", lambda x: x.chunk(2)[0]),
    ("unbind", lambda x: x.unbind(1)[3]),
    ("tensor_split", lambda x: x.tensor_split(2, 1)[1]),
    ("diagonal", lambda x: x.diagonal(1)),
]


def _base(device):
    return gt.tensor(np.arange(15, dtype=np.float32).reshape(3, 5), device=device)


@pytest.mark.parametrize("name,make", VIEWS, ids=[v[0] for v in VIEWS])
def test_write_through_view_is_visible_in_base(device, name, make):
    import torch
    x = _base(device)
    v = make(x)
    before = x._version.value
    v[...] = -1.0
    ref = torch.arange(15, dtype=torch.float32).reshape(3, 5)
    make(ref)[...] = -1.0
    np.testing.assert_array_equal(x.cpu().numpy(), ref.numpy())
    assert x._version.value > before and v._version is x._version


@pytest.mark.parametrize("name,make", VIEWS, ids=[v[0] for v in VIEWS])
def test_write_in_base_is_visible_in_view(device, name, make):
    x = _base(device)
    v = make(x)
    x[...] = 7.0
    assert (v.cpu().numpy() == 7.0).all()


COPIES = [
    ("adv_index", lambda x: x[[0, 2]]),
    ("mask", lambda x: x[gt.tensor([True, False, True])]),
    ("flip", lambda x: x.flip(0)),
    ("roll", lambda x: x.roll(1)),
    ("repeat", lambda x: x.repeat(1, 1)),
    ("cat", lambda x: gt.cat([x])),
    ("t_reshape", lambda x: x.t().reshape(-1)),
    ("gather", lambda x: x.gather(1, gt.zeros(3, 1, dtype=gt.int64, device=x.device))),
    ("diag", lambda x: x.diag()),
]


@pytest.mark.parametrize("name,make", COPIES, ids=[c[0] for c in COPIES])
def test_copies_do_not_share_storage(device, name, make):
    x = _base(device)
    c = make(x)
    c[...] = -5.0
    np.testing.assert_array_equal(x.cpu().numpy(), np.arange(15).reshape(3, 5))


def test_view_rejects_incompatible_strides(device):
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        _base(device).t().view(-1)


def test_chained_setitem_writes_base(device):
    x = gt.zeros(2, 3, device=device)
    x[1][2] = 4.0
    x[:, 0][0] = 1.0
    assert x.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 4.0]]


def test_inplace_on_view_of_grad_tensor_raises(device):
    w = gt.ones(2, 3, requires_grad=True, device=device)
    y = w * 2
    with pytest.raises(RuntimeError, match="in-place operation on a view of a tensor that "
                                           "requires grad"):
        y[0][1] = 5.0
    with pytest.raises(RuntimeError, match="view of a tensor that requires grad"):
        y.narrow(1, 0, 2).masked_fill_(gt.tensor([True, False], device=device), 0.0)


def test_setitem_on_nonleaf_records_gradient(device):
    w = gt.ones(2, 3, requires_grad=True, device=device)
    y = w * 3
    y[0, 1:] = 0.0
    y.sum().backward()
    assert w.grad.tolist() == [[3.0, 0.0, 0.0], [3.0, 3.0, 3.0]]


def test_grad_through_view_of_leaf(device):
    w = gt.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, device=device)
    (w.t()[1:] * w.narrow(1, 1, 2).t()).sum().backward()
    assert w.grad.tolist() == [[0.0, 2.0, 4.0], [0.0, 8.0, 10.0]]
