"""In-place ops: storage is written in place, autograd rules match torch, random fills."""
import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import compare_torch, to_gt, to_np

UNARY_INPLACE = ["abs_", "neg_", "exp_", "sqrt_", "relu_", "sigmoid_", "tanh_", "floor_",
                 "sign_", "reciprocal_", "log_", "sin_", "square_", "erf_"]


@pytest.mark.parametrize("name", UNARY_INPLACE)
def test_unary_inplace_matches_torch_in_graph(device, rng, name):
    x = rng.uniform(0.3, 1.5, (2, 3)).astype(np.float32) * (1 if name in ("sqrt_", "log_")
                                                            else rng.choice([-1, 1], (2, 3)))

    def f(a):
        y = a * 1.5  # a non-leaf, so in-place is allowed in the graph
        out = getattr(y, name)()
        assert out is y
        return y * 2

    compare_torch(f, x, device=device)


@pytest.mark.parametrize("call", [lambda y, o: y.add_(o, alpha=2), lambda y, o: y.sub_(o),
                                  lambda y, o: y.mul_(o), lambda y, o: y.div_(o),
                                  lambda y, o: y.pow_(2), lambda y, o: y.clamp_(-0.5, 0.5),
                                  lambda y, o: y.clip_(min=0.1), lambda y, o: y.lerp_(o, 0.3),
                                  lambda y, o: y.addcmul_(o, o), lambda y, o: y.copy_(o)])
def test_binary_inplace_matches_torch_in_graph(device, rng, call):
    x = rng.uniform(0.5, 1.5, (2, 3)).astype(np.float32)
    o = rng.uniform(0.5, 1.5, (3,)).astype(np.float32)

    def f(a, b):
        y = a - 1.0
        call(y, b)
        return y

    compare_torch(f, x, o, device=device)


def test_augmented_assignment_dunders(device):
    def f(a):
        y = a.clone()
        y += 1
        y -= 0.5
        y *= 3
        y /= 2
        y **= 2
        return y

    compare_torch(f, np.array([1.0, -2.0, 3.0]), device=device)
    i = to_gt(np.array([7, -7, 5]), device)
    ref = i
    i //= 2
    i %= 3
    i &= 3
    i |= 4
    i ^= 1
    assert i is ref
    t = torch.tensor([7, -7, 5])
    t //= 2
    t %= 3
    t &= 3
    t |= 4
    t ^= 1
    assert i.tolist() == t.tolist()


def test_inplace_on_leaf_requiring_grad_raises(device):
    w = gt.ones(3, device=device, requires_grad=True)
    for f in (lambda: w.add_(1), lambda: w.zero_(), lambda: w.fill_(2.0), lambda: w.relu_(),
              lambda: w.uniform_(), lambda: w.copy_(gt.zeros(3, device=device))):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            f()


def test_no_grad_update_writes_storage(device):
    w = to_gt(np.array([[1.0, 2.0], [3.0, 4.0]]), device, True)
    loss = (w * w).sum()
    loss.backward()
    view = w.detach()
    with gt.no_grad():
        w -= 0.1 * w.grad
        w.grad.zero_()
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    np.testing.assert_allclose(to_np(view), [[0.8, 1.6], [2.4, 3.2]])  # same storage
    assert w.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_modifying_saved_tensor_is_detected(device):
    x = gt.ones(3, device=device, requires_grad=True)
    y = x * 2
    z = y.sigmoid()  # saves its output
    z.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_integer_inplace_cannot_take_float(device):
    i = to_gt(np.array([1, 2]), device)
    with pytest.raises(RuntimeError, match="can't be cast"):
        i += 1.5
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.div_(2)


def test_zero_fill_copy(device):
    x = to_gt(np.arange(6.0).reshape(2, 3), device)
    assert x.zero_() is x and x.tolist() == [[0.0] * 3] * 2
    x.fill_(2.5)
    assert x.tolist() == [[2.5] * 3] * 2
    x.fill_(gt.tensor(4.0))
    assert x.sum().item() == 24.0
    x.copy_(gt.tensor([1, 2, 3]))  # broadcast, int -> float, cpu -> device
    assert x.tolist() == [[1.0, 2.0, 3.0]] * 2
    other = "cuda" if device == "cpu" else "cpu"
    x.copy_(gt.tensor([[5.0], [6.0]], device=other))
    assert x.tolist() == [[5.0] * 3, [6.0] * 3] and x.device.type == device
    i = to_gt(np.zeros(2, np.int64), device)
    i.copy_(gt.tensor([1.7, -1.7]))
    assert i.tolist() == [1, -1]
    with pytest.raises(RuntimeError, match=r"\[4\].*\[2, 3\]"):
        x.copy_(gt.ones(4))
    with pytest.raises(RuntimeError, match="0-dimension"):
        x.fill_(gt.ones(2))


def test_fill_and_copy_gradients(device):
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    v = np.array([0.5, 1.5])

    def g(a, v):
        y = a * 2
        y.fill_(v.sum())
        return y

    def h(a, v):
        y = a * 2
        y.copy_(v)
        return y * y

    compare_torch(g, a, v, device=device)
    compare_torch(h, a, v, device=device)


def test_random_fills(device):
    x = gt.empty(2000, device=device)
    x.uniform_(-1, 3)
    assert -1 <= x.min().item() and x.max().item() < 3 and abs(x.mean().item() - 1) < 0.15
    x.normal_(2, 0.5)
    assert abs(x.mean().item() - 2) < 0.1 and abs(x.std().item() - 0.5) < 0.05
    x.exponential_(2.0)
    assert x.min().item() >= 0 and abs(x.mean().item() - 0.5) < 0.05
    x.bernoulli_(0.25)
    assert set(np.unique(to_np(x))) <= {0.0, 1.0} and abs(x.mean().item() - 0.25) < 0.05
    x.random_(3, 7)
    assert set(np.unique(to_np(x))) == {3.0, 4.0, 5.0, 6.0}
    i = gt.zeros(500, dtype=gt.int64, device=device).random_(5)
    assert i.dtype == gt.int64 and set(np.unique(to_np(i))) == {0, 1, 2, 3, 4}
    p = gt.tensor([0.0, 1.0], device=device)
    assert gt.zeros(2, device=device).bernoulli_(p).tolist() == [0.0, 1.0]


def test_random_fills_reproducible_and_checked(device):
    gt.manual_seed(7)
    a = gt.empty(5, device=device).normal_()
    gt.manual_seed(7)
    b = gt.empty(5, device=device).normal_()
    assert a.tolist() == b.tolist()
    g1, g2 = gt.Generator().manual_seed(3), gt.Generator().manual_seed(3)
    assert gt.empty(4, device=device).uniform_(generator=g1).tolist() == \
        gt.empty(4, device=device).uniform_(generator=g2).tolist()
    with pytest.raises(RuntimeError, match="normal_.*int64"):
        gt.zeros(2, dtype=gt.int64, device=device).normal_()
    with pytest.raises(RuntimeError, match="from=5 >= to=2"):
        gt.zeros(2, device=device).random_(5, 2)


def test_inplace_under_no_grad_leaves_graph_alone(device):
    x = gt.ones(3, device=device, requires_grad=True)
    y = x * 3
    with gt.no_grad():
        y.add_(1)
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0, 3.0] and y.tolist() == [4.0, 4.0, 4.0]
