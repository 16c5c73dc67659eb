"""Benchmark cases: matmul sweep, conv2d layers, pooling, and whole training steps.

Each case builds, for one implementation, a zero-argument callable doing the measured work; inputs
are made once outside the timed region. ``flops``/``bytes`` give GFLOP/s and GB/s where meaningful.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass
class Case:
    group: str  # "matmul" | "conv2d" | "pool" | "train"
    name: str
    size: int  # x-axis for plots (e.g. the matmul side)
    flops: float | None
    bytes: float | None
    build: Callable  # build(impl) -> callable, or None when the impl has no form of this case


def _arrays(*shapes, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _to_lib(impl, arr, requires_grad=False):
    lib = impl.lib
    t = lib.from_numpy(arr.copy()).to(impl.device)
    return t.requires_grad_(True) if requires_grad else t


# -- matmul -------------------------------------------------------------------------------------

def matmul_case(m: int, n: int, k: int, label: str | None = None) -> Case:
    def build(impl):
        a, b = _arrays((m, k), (k, n))
        if impl.lib_name == "numpy":
            return lambda: np.matmul(a, b)
        ta, tb = _to_lib(impl, a), _to_lib(impl, b)
        return lambda: ta @ tb
    name = label or (f"{m}^3" if m == n == k else f"{m}x{k} @ {k}x{n}")
    return Case("matmul", name, m, 2.0 * m * n * k, 4.0 * (m * k + k * n + m * n), build)


# -- conv2d and pooling ---------------------------------------------------------------------------

def conv_case(label: str, n: int, c: int, hw: int, cout: int, ksize: int, pad: int,
              backward: bool) -> Case:
    def build(impl):
        if impl.lib_name == "numpy":
            return None
        F = impl.lib.nn.functional
        x, w, b = _arrays((n, c, hw, hw), (cout, c, ksize, ksize), (cout,))
        tx, tw, tb = (_to_lib(impl, v, backward) for v in (x, w, b))
        if not backward:
            return lambda: F.conv2d(tx, tw, tb, padding=pad)

        def step():
            tx.grad = tw.grad = tb.grad = None
            F.conv2d(tx, tw, tb, padding=pad).sum().backward()
        return step
    oh = hw + 2 * pad - ksize + 1
    fl = 2.0 * n * cout * oh * oh * c * ksize * ksize * (3 if backward else 1)
    return Case("conv2d", f"{label} {'fwd+bwd' if backward else 'fwd'}", hw, fl, None, build)


def pool_case(n: int, c: int, hw: int, backward: bool) -> Case:
    def build(impl):
        (x,) = _arrays((n, c, hw, hw))
        if impl.lib_name == "numpy":  # a forward-only peer: max over 2x2 windows by reshaping
            return None if backward else (
                lambda: x.reshape(n, c, hw // 2, 2, hw // 2, 2).max(axis=(3, 5)))
        F = impl.lib.nn.functional
        tx = _to_lib(impl, x, backward)
        if not backward:
            return lambda: F.max_pool2d(tx, 2, 2)

        def step():
            tx.grad = None
            F.max_pool2d(tx, 2, 2).sum().backward()
        return step
    nbytes = 4.0 * n * c * hw * hw * 1.25
    return Case("pool", f"maxpool2 {n}x{c}x{hw}x{hw} {'fwd+bwd' if backward else 'fwd'}", hw,
                None, nbytes, build)


# -- whole training steps -------------------------------------------------------------------------

def reference_cnn(nn):
    """The reference CNN of shared/REFERENCE_MODELS.md (input 3x24x24)."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(64 * 6 * 6, 128), nn.ReLU(), nn.Linear(128, 10))


def mlp(nn):
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def lstm_classifier(lib, input_size=100, hidden=256, layers=2, classes=10):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(input_size, hidden, layers, batch_first=True)
            self.fc = nn.Linear(hidden, classes)

        def forward(self, x):
            h0 = lib.zeros(layers, x.size(0), hidden).to(x.device)
            c0 = lib.zeros(layers, x.size(0), hidden).to(x.device)
            out, _ = self.lstm(x, (h0, c0))
            return self.fc(out[:, -1, :])
    return Net()


def train_case(label: str, make_model, x_shape: tuple, classes: int, optimizer: str,
               flops: float | None) -> Case:
    def build(impl):
        if impl.lib_name == "numpy":
            return None
        lib = impl.lib
        lib.manual_seed(0)
        model = make_model(lib).to(impl.device)
        (x,) = _arrays(x_shape)
        y = np.random.default_rng(1).integers(0, classes, x_shape[0]).astype(np.int64)
        tx, ty = _to_lib(impl, x), lib.from_numpy(y).to(impl.device)
        crit = lib.nn.CrossEntropyLoss()
        opt = (lib.optim.SGD(model.parameters(), lr=0.001, momentum=0.9) if optimizer == "sgd"
               else lib.optim.Adam(model.parameters(), lr=0.001))

        def step():
            opt.zero_grad()
            loss = crit(model(tx), ty)
            loss.backward()
            opt.step()
        return step
    return Case("train", label, x_shape[0], flops, None, build)


def all_cases(quick: bool) -> list[Case]:
    sizes = [64, 128, 256, 512, 1024] if quick else [64, 128, 256, 512, 1024, 2048, 4096]
    cases = [matmul_case(s, s, s) for s in sizes]
    skinny = [(4096, 64, 4096), (64, 4096, 4096)] if not quick else [(1024, 64, 1024), (64, 1024, 1024)]
    cases += [matmul_case(m, n, k) for m, n, k in skinny]
    batch = 32
    convs = [("ref conv1 32x3x24x24->32", batch, 3, 24, 32, 3, 1),
             ("ref conv2 32x32x12x12->64", batch, 32, 12, 64, 3, 1)]
    if not quick:
        convs += [("resnet 3x3 16x64x56x56->64", 16, 64, 56, 64, 3, 1),
                  ("resnet 1x1 16x256x14x14->64", 16, 256, 14, 64, 1, 0)]
    else:
        convs += [("resnet 3x3 8x64x28x28->64", 8, 64, 28, 64, 3, 1),
                  ("resnet 1x1 8x256x14x14->64", 8, 256, 14, 64, 1, 0)]
    for spec in convs:
        cases += [conv_case(*spec, backward=False), conv_case(*spec, backward=True)]
    cases += [pool_case(batch, 32, 24, False), pool_case(batch, 32, 24, True),
              pool_case(batch, 64, 56 if not quick else 28, False)]
    cases += [
        train_case("reference CNN, batch 32, SGD", lambda lib: reference_cnn(lib.nn),
                   (32, 3, 24, 24), 10, "sgd", None),
        train_case("MLP 784-256-256-10, batch 128, SGD", lambda lib: mlp(lib.nn),
                   (128, 784), 10, "sgd", 6.0 * 128 * (784 * 256 + 256 * 256 + 256 * 10)),
        train_case("reference LSTM 2x256, batch 32, seq 20 (8 quick), Adam", lstm_classifier,
                   (32, 8 if quick else 20, 100), 10, "adam", None),
    ]
    return cases
