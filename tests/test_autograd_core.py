import numpy as np
import pytest

import gputensor as gt
from helpers import check_grad, compare_torch


def test_scalar_backward_square(device):
    x = gt.tensor(2.0, requires_grad=True, device=device)
    y = x ** 2
    y.backward()
    assert x.grad.item() == 4.0


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_binary_broadcast_grad(device, rng, op):
    f = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
         "mul": lambda a, b: a * b, "div": lambda a, b: a / b}[op]
    a = rng.standard_normal((3, 1, 4))
    b = rng.standard_normal((2, 4)) + 3.0
    check_grad(f, a, b, device=device)
    compare_torch(f, a.astype(np.float32), b.astype(np.float32), device=device)


def test_matmul_grad(device, rng):
    check_grad(lambda a, b: a @ b, rng.standard_normal((3, 5)), rng.standard_normal((5, 2)),
               device=device)


def test_backward_twice_raises(device):
    x = gt.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_long_chain_no_recursion():
    x = gt.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_higher_order(device):
    x = gt.tensor(3.0, requires_grad=True, device=device, dtype=gt.float64)
    y = x ** 3
    (g,) = gt.autograd.grad(y, x, create_graph=True)
    (gg,) = gt.autograd.grad(g, x)
    assert g.item() == pytest.approx(27.0)
    assert gg.item() == pytest.approx(18.0)


def test_device_mismatch_names_both():
    a = gt.ones(2)
    b = gt.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="cpu and cuda:0|cuda:0 and cpu"):
        a + b


def test_matmul_shape_error_names_shapes():
    with pytest.raises(RuntimeError, match=r"\(3, 4\) @ \(5, 6\)"):
        gt.zeros(3, 4) @ gt.zeros(5, 6)
