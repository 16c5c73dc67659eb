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
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(3x4 and 5x6\)"):
        gt.zeros(3, 4) @ gt.zeros(5, 6)


@pytest.mark.parametrize("op", ["mul", "div", "rmul"])
def test_binary_ops_save_only_what_backward_reads(op):
    """Modifying an operand whose value backward never reads is legal, as in torch; modifying
    one it reads raises the version-counter error."""
    import torch
    for lib in (gt, torch):
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = lib.tensor([4.0, 5.0, 6.0])
        y = {"mul": lambda: w * 2.0, "div": lambda: w / 2.0, "rmul": lambda: 3.0 * w}[op]()
        with lib.no_grad():
            w.add_(1.0)  # y's backward never reads w
        y.sum().backward()
        assert w.grad.tolist() == {"mul": [2.0] * 3, "div": [0.5] * 3, "rmul": [3.0] * 3}[op]
        z = w * x
        x.add_(1.0)  # z's backward reads x for dz/dw
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()
