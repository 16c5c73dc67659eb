"""Several cuda devices in one process (``cuda:0 .. cuda:N-1``) on the simulator.

The ``devices`` fixture swaps in a fresh cuda backend built with ``GPUTENSOR_SIM_DEVICES=3`` and
puts the suite's one-device backend back afterwards, so the rest of the suite still sees one
device. One test checks the variable in a fresh process, where it is read at backend creation.
"""
import io
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

import gputensor as gt
from gputensor import backends, nn
from gputensor.autograd import Function
from gputensor.backends.cuda import CUDABackend

MIXED = (r"Expected all tensors to be on the same device, but found at least two devices, "
         r"cuda:0 and cuda:1!")


def use_sim_devices(monkeypatch, n: int) -> CUDABackend:
    monkeypatch.setenv("GPUTENSOR_SIM_DEVICES", str(n))
    b = CUDABackend()
    b.manual_seed(0)
    monkeypatch.setitem(backends._backends, "cuda", b)
    return b


@pytest.fixture
def devices(monkeypatch) -> CUDABackend:
    return use_sim_devices(monkeypatch, 3)


def test_env_var_read_when_backend_starts():
    code = ("import gputensor as gt; print(gt.cuda.device_count(), "
            "gt.zeros(1, device='cuda:1').device)")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", GPUTENSOR_SIM_DEVICES="2")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "cuda:1"]
    env["GPUTENSOR_SIM_DEVICES"] = "zero"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode != 0 and "GPUTENSOR_SIM_DEVICES must be a positive integer" in bad.stderr


def test_suite_default_is_one_device():
    assert gt.cuda.device_count() == 1
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        gt.zeros(1, device="cuda:1")


def test_counts_and_current_device(devices):
    assert gt.cuda.device_count() == 3 and gt.accelerator.device_count() == 3
    assert gt.cuda.current_device() == 0
    gt.cuda.set_device(2)
    assert gt.cuda.current_device() == 2 and gt.accelerator.current_device_index() == 2
    assert gt.zeros(2, device="cuda").device == gt.device("cuda", 2)
    assert gt.ones(2).cuda().device.index == 2
    gt.cuda.set_device("cuda:1")
    assert gt.get_default_device() == gt.device("cpu")
    gt.set_default_device("cuda")
    try:
        assert gt.get_default_device() == gt.device("cuda:1")
        assert gt.zeros(1).device == gt.device("cuda:1")
    finally:
        gt.set_default_device(None)
    gt.cuda.set_device(gt.device("cuda", 0))
    gt.cuda.set_device(-1)  # a no-op, as torch's
    assert gt.cuda.current_device() == 0


@pytest.mark.parametrize("make", [
    lambda d: gt.zeros(2, 3, device=d), lambda d: gt.ones(3, device=d),
    lambda d: gt.full((2,), 7.0, device=d), lambda d: gt.eye(3, device=d),
    lambda d: gt.arange(5, device=d), lambda d: gt.linspace(0, 1, 3, device=d),
    lambda d: gt.tensor([1.0, 2.0], device=d), lambda d: gt.randn(3, device=d),
    lambda d: gt.rand(2, device=d), lambda d: gt.randint(0, 5, (3,), device=d),
    lambda d: gt.randperm(4, device=d), lambda d: gt.empty(2, device=d),
    lambda d: gt.zeros_like(gt.ones(2, device=d)), lambda d: gt.ones(2, device=d).new_zeros(3),
    lambda d: gt.rand_like(gt.ones(2, device=d)),
])
def test_factories_place_on_the_named_device(devices, make):
    for name in ("cuda:1", gt.device("cuda", 1), 1):
        t = make(name)
        assert t.device == gt.device("cuda", 1) and t.get_device() == 1 and t.device.index == 1
        assert t.is_cuda


def test_moves_between_devices(devices):
    x = gt.arange(6.0).reshape(2, 3)
    a = x.to("cuda:1")
    assert a.device == gt.device("cuda", 1)
    assert x.cuda(2).device.index == 2 and x.cuda(device=1).device.index == 1
    assert x.cuda(gt.device("cuda:2")).get_device() == 2 and x.cuda().get_device() == 0
    b = a.to("cuda:2")
    assert b.device.index == 2 and a.device.index == 1
    np.testing.assert_array_equal(b.cpu().numpy(), x.numpy())
    b.add_(1.0)  # a real copy: the source is untouched
    np.testing.assert_array_equal(a.cpu().numpy(), x.numpy())
    assert a.to("cuda:1") is a and a.to(gt.device("cuda", 1)) is a
    c = a.to("cuda:0", gt.float64)
    assert c.device.index == 0 and c.dtype == gt.float64
    assert a.to(b).device.index == 2
    with gt.cuda.device(1):
        assert a.to("cuda") is a


def test_module_to_device(devices):
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).to("cuda:1")
    assert {p.device for p in m.parameters()} == {gt.device("cuda:1")}
    assert {b.device for b in m.buffers()} == {gt.device("cuda:1")}
    out = m(gt.randn(4, 3, device="cuda:1"))
    assert out.device == gt.device("cuda", 1)
    m.cuda(2)
    assert next(m.parameters()).device.index == 2
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        m(gt.randn(4, 3, device="cuda:0"))


def test_mixing_devices_raises(devices):
    a, b = gt.ones(2, device="cuda:0"), gt.ones(2, device="cuda:1")
    with pytest.raises(RuntimeError, match=MIXED):
        a + b
    with pytest.raises(RuntimeError, match=MIXED):
        gt.matmul(gt.ones(2, 2, device="cuda:0"), gt.ones(2, 2, device="cuda:1"))
    with pytest.raises(RuntimeError, match="cuda:1 and cuda:0"):
        b.mul_(a)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        gt.cat([a, b])
    assert (a + gt.ones(2, device="cuda")).device.index == 0  # "cuda" is cuda:0 here


def test_invalid_ordinal(devices):
    assert issubclass(gt.AcceleratorError, RuntimeError)
    assert torch.AcceleratorError.__name__ == gt.AcceleratorError.__name__
    for bad in (lambda: gt.zeros(1, device="cuda:3"), lambda: gt.ones(1).to("cuda:5"),
                lambda: gt.ones(1).cuda(3), lambda: gt.cuda.set_device(3),
                lambda: gt.randn(2, device=gt.device("cuda", 9)),
                lambda: nn.Linear(2, 2).to("cuda:4")):
        with pytest.raises(gt.AcceleratorError, match="CUDA error: invalid device ordinal"):
            bad()
    assert str(gt.device("cuda:7")) == "cuda:7"  # naming a device is fine, as in torch
    with pytest.raises(RuntimeError, match="Device index must not be negative"):
        gt.zeros(1, device=-1)


def test_device_context_managers(devices):
    t = gt.ones(1, device="cuda:2")
    with gt.cuda.device(1):
        assert gt.cuda.current_device() == 1
        assert gt.randn(2, device="cuda").device.index == 1
        with gt.cuda.device_of(t):
            assert gt.cuda.current_device() == 2
        with gt.cuda.device_of(gt.ones(1)):  # a cpu tensor changes nothing
            assert gt.cuda.current_device() == 1
        assert gt.cuda.current_device() == 1
    assert gt.cuda.current_device() == 0
    with pytest.raises(KeyError):
        with gt.cuda.device("cuda:2"):
            raise KeyError("inside")
    assert gt.cuda.current_device() == 0
    with gt.cuda.device(None):
        assert gt.cuda.current_device() == 0


def test_current_device_is_per_thread(devices):
    gt.cuda.set_device(2)
    seen = []

    def work():
        seen.append(gt.cuda.current_device())
        gt.cuda.set_device(1)
        seen.append(gt.zeros(1, device="cuda").device.index)

    th = threading.Thread(target=work)
    th.start()
    th.join()
    assert seen == [0, 1] and gt.cuda.current_device() == 2


class _Record(Function):
    """Records the current device while its forward and backward run."""
    seen: list = []

    @staticmethod
    def forward(ctx, x):
        _Record.seen.append(("forward", gt.cuda.current_device()))
        return x * 2

    @staticmethod
    def backward(ctx, g):
        _Record.seen.append(("backward", gt.cuda.current_device()))
        return g * 2


def test_ops_run_with_their_device_current(devices):
    _Record.seen = []
    x = gt.ones(3, device="cuda:2", requires_grad=True)
    y = _Record.apply(x)
    assert gt.cuda.current_device() == 0
    y.to("cuda:0").sum().backward()
    assert _Record.seen == [("forward", 2), ("backward", 2)]
    assert x.grad.device.index == 2 and gt.cuda.current_device() == 0
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [2.0, 2.0, 2.0])


def test_autograd_across_devices_matches_torch(devices, rng):
    xs, ws = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    x = gt.tensor(xs, device="cuda:1", requires_grad=True)
    w = gt.tensor(ws, device="cuda:2", requires_grad=True)
    h = (x.to("cuda:2") @ w).tanh()
    loss = (h.to("cuda:0") ** 2).sum()
    loss.backward()
    tx = torch.tensor(xs, requires_grad=True)
    tw = torch.tensor(ws, requires_grad=True)
    ((tx @ tw).tanh() ** 2).sum().backward()
    assert x.grad.device.index == 1 and w.grad.device.index == 2 and loss.device.index == 0
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(w.grad.cpu().numpy(), tw.grad.numpy(), rtol=1e-6, atol=1e-8)


def test_kernels_on_other_devices_and_threads(devices, rng):
    a, b = rng.standard_normal((3, 5)).astype(np.float32), rng.standard_normal((5, 3))
    b = b.astype(np.float32)
    results = {}

    def work(i):
        with gt.cuda.device(i):
            x, y = gt.tensor(a, device="cuda"), gt.tensor(b, device="cuda")
            out = x @ y
            img = gt.tensor(a[None, None], device="cuda")
            pooled = nn.functional.max_pool2d(img, 2)
            results[i] = (out.device.index, out.cpu().numpy(), pooled.device.index)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(3):
        idx, out, pidx = results[i]
        assert idx == i and pidx == i
        np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-5)


def test_each_device_has_its_generator(devices):
    gt.manual_seed(3)
    r0, r1 = gt.randn(4, device="cuda:0"), gt.randn(4, device="cuda:1")
    np.testing.assert_array_equal(r0.cpu().numpy(), r1.cpu().numpy())  # seeded alike, as torch
    gt.manual_seed(3)
    with gt.cuda.device(1):
        gt.cuda.manual_seed(11)  # only device 1's
        assert gt.cuda.initial_seed() == 11
    assert gt.cuda.initial_seed() == 3
    np.testing.assert_array_equal(gt.randn(4, device="cuda:0").cpu().numpy(), r0.cpu().numpy())
    assert not np.array_equal(gt.randn(4, device="cuda:1").cpu().numpy(), r1.cpu().numpy())
    gt.cuda.manual_seed_all(3)
    state = gt.cuda.get_rng_state("cuda:2")
    first = gt.randn(4, device="cuda:2").cpu().numpy()
    gt.cuda.set_rng_state(state, device=2)
    np.testing.assert_array_equal(gt.randn(4, device="cuda:2").cpu().numpy(), first)
    np.testing.assert_array_equal(first, r0.cpu().numpy())


def _saved(obj) -> io.BytesIO:
    buf = io.BytesIO()
    gt.save(obj, buf)
    buf.seek(0)
    return buf


@pytest.mark.parametrize("map_location, index", [
    (None, 1), ("cuda:2", 2), ({"cuda:1": "cuda:0"}, 0), (gt.device("cuda", 2), 2),
    (lambda s, loc: s.to("cuda:2") if loc == "cuda:1" else None, 2), ("cpu", None),
])
def test_map_location_names_devices(devices, map_location, index):
    t = gt.arange(3.0, device="cuda:1")
    got = gt.load(_saved({"t": t}), map_location=map_location)["t"]
    assert got.get_device() == (-1 if index is None else index)
    np.testing.assert_array_equal(got.cpu().numpy(), [0.0, 1.0, 2.0])


def test_checkpoint_from_a_bigger_machine(devices, monkeypatch):
    buf = _saved({"t": gt.ones(2, device="cuda:2")})
    use_sim_devices(monkeypatch, 1)
    with pytest.raises(RuntimeError, match="Attempting to deserialize object on CUDA device 2 "
                                           "but torch.cuda.device_count\\(\\) is 1"):
        gt.load(buf)
    buf.seek(0)
    assert gt.load(buf, map_location={"cuda:2": "cuda:0"})["t"].device == gt.device("cuda:0")
    buf.seek(0)
    assert gt.load(buf, map_location="cuda")["t"].device == gt.device("cuda:0")


def test_optimizer_updates_run_on_the_parameter_device(devices):
    seen = []

    class Recording(gt.optim.SGD):
        def _update(self, group, p, grad, state):
            seen.append((p.get_device(), gt.cuda.current_device()))
            return super()._update(group, p, grad, state)

    m = nn.Linear(2, 1).to("cuda:2")
    opt = Recording(m.parameters(), lr=0.5, momentum=0.9, foreach=False)  # per-parameter path
    m(gt.ones(3, 2, device="cuda:2")).sum().backward()
    before = m.bias.detach().cpu().numpy().copy()
    opt.step()
    assert seen == [(2, 2), (2, 2)] and gt.cuda.current_device() == 0
    np.testing.assert_allclose(m.bias.detach().cpu().numpy(), before - 0.5 * 3.0, rtol=1e-6)
    assert opt.state[m.weight]["momentum_buffer"].device == gt.device("cuda", 2)


@pytest.mark.parametrize("flags", [{}, {"foreach": True}, {"fused": True}])
def test_multi_tensor_optimizer_paths_stay_on_the_parameter_device(devices, flags):
    m = nn.Linear(2, 1).to("cuda:1")  # on cuda, foreach is torch's default path
    opt = gt.optim.SGD(m.parameters(), lr=0.5, momentum=0.9, **flags)
    m(gt.ones(3, 2, device="cuda:1")).sum().backward()
    before = m.bias.detach().cpu().numpy().copy()
    opt.step()
    assert gt.cuda.current_device() == 0
    np.testing.assert_allclose(m.bias.detach().cpu().numpy(), before - 0.5 * 3.0, rtol=1e-6)
    assert m.bias.device == gt.device("cuda", 1)
    assert opt.state[m.weight]["momentum_buffer"].device == gt.device("cuda", 1)
