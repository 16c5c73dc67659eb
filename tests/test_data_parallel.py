"""nn.DataParallel: with no accelerator a transparent wrapper (torch's behaviour without GPUs);
with one cuda device (simulated here) the module moves to cuda:0 and inputs follow it; with
several simulated devices (``GPUTENSOR_SIM_DEVICES``, a fresh backend per test) the batch is split,
replicas run one per device and gradients sum back. Outputs, gradients and training steps equal
the bare module's.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import gputensor as gt
import gputensor.nn as nn
from gputensor.nn.parallel import data_parallel, gather, parallel_apply, replicate, scatter


def small_net() -> nn.Module:
    gt.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.BatchNorm1d(5), nn.Linear(5, 2))


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(gt.cuda, "is_available", lambda: False)


def x_y():
    rng = np.random.default_rng(3)
    return (gt.tensor(rng.standard_normal((7, 3)).astype(np.float32)),
            gt.tensor(rng.integers(0, 2, 7)))


def train_step(model, x, y) -> float:
    opt = gt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = nn.CrossEntropyLoss()(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def test_cpu_only_transparent_wrapper(no_cuda):
    bare = small_net()
    dp = nn.DataParallel(copy.deepcopy(bare))
    assert dp.device_ids == [] and not hasattr(dp, "output_device")
    ref = torch.nn.DataParallel(torch.nn.Linear(2, 2))  # the CI machine has no GPU either
    assert ref.device_ids == [] and not hasattr(ref, "output_device")
    assert list(dp.state_dict()) == ["module." + k for k in bare.state_dict()]
    assert repr(dp).startswith("DataParallel(\n  (module): Sequential(")
    x, y = x_y()
    np.testing.assert_array_equal(dp(x).detach().numpy(), bare(x).detach().numpy())
    for _ in range(2):
        assert train_step(dp, x, y) == train_step(bare, x, y)
    for k, v in bare.state_dict().items():
        np.testing.assert_array_equal(dp.state_dict()["module." + k].numpy(), v.numpy())
    out = data_parallel(bare, x)
    np.testing.assert_array_equal(out.detach().numpy(), bare(x).detach().numpy())


def test_single_cuda_device_moves_module_and_inputs():
    bare = small_net()
    dp = nn.DataParallel(copy.deepcopy(bare))
    assert dp.device_ids == [0] and dp.output_device == 0 and dp.dim == 0
    assert all(p.device == gt.device("cuda", 0) for p in dp.parameters())
    x, y = x_y()
    out = dp(x)  # a cpu input: scattered (moved) to cuda:0
    assert out.device == gt.device("cuda", 0)
    np.testing.assert_allclose(out.detach().cpu().numpy(), bare(x).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    la, lb = train_step(dp, x, y.to("cuda")), train_step(bare, x, y)
    assert abs(la - lb) < 1e-5
    for k, v in bare.state_dict().items():
        np.testing.assert_allclose(dp.module.state_dict()[k].cpu().numpy(), v.numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=k)
    kw = nn.DataParallel(nn.Linear(3, 2), device_ids=["cuda:0"], output_device=gt.device("cuda"))
    assert kw.device_ids == [0] and kw.output_device == 0


def test_errors():
    with pytest.raises(AssertionError, match="Invalid device id"):
        nn.DataParallel(nn.Linear(2, 2), device_ids=[1])
    dp = nn.DataParallel(nn.Linear(2, 2))
    dp.module.cpu()
    with pytest.raises(RuntimeError, match=r"module must have its parameters and buffers on "
                                           r"device cuda:0 \(device_ids\[0\]\)"):
        dp(gt.ones(1, 2))
    with pytest.raises(RuntimeError, match="invalid device ordinal"):  # one simulated device
        replicate(nn.Linear(2, 2), [0, 1])


def test_scatter_gather_helpers():
    x = gt.arange(6.0).reshape(3, 2)
    (part,), = scatter((x,), [0])
    assert part.device == gt.device("cuda", 0)
    parts = scatter({"a": x, "n": 3}, [0])
    assert parts[0]["n"] == 3 and parts[0]["a"].device == gt.device("cuda", 0)
    back = gather([part], -1)
    assert back.device == gt.device("cpu")
    np.testing.assert_array_equal(back.numpy(), x.numpy())
    outs = parallel_apply([nn.Identity()], [(x,)])
    assert outs[0] is x
    assert nn.parallel.__all__ == torch.nn.parallel.__all__


# -- several (simulated) devices -------------------------------------------------------------------

def sim_devices(monkeypatch, n: int) -> None:
    """A fresh cuda backend with ``n`` simulated devices for one test (the suite keeps one)."""
    from gputensor import backends
    from gputensor.backends.cuda import CUDABackend
    monkeypatch.setenv("GPUTENSOR_SIM_DEVICES", str(n))
    b = CUDABackend()
    b.manual_seed(0)
    monkeypatch.setitem(backends._backends, "cuda", b)


class Probe(nn.Module):
    """Elementwise (no kernel launch: fast on the simulator); records where each call ran."""

    def __init__(self, n: int = 3):
        super().__init__()
        self.w = nn.Parameter(gt.arange(1.0, n + 1.0))
        self.b = nn.Parameter(gt.full((n,), 0.5))
        self.calls = []

    def forward(self, x, scale=1.0, shift=None):
        self.calls.append((x.get_device(), gt.cuda.current_device(), self.w.get_device(),
                           x.shape[0]))
        y = (x * self.w + self.b).tanh() * scale
        return y if shift is None else y + shift


@pytest.mark.parametrize("n", [2, 3])
def test_training_step_matches_bare_module_on_several_devices(monkeypatch, n):
    sim_devices(monkeypatch, n)
    gt.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), Probe(4)).cuda()
    bare = copy.deepcopy(net)
    dp = nn.DataParallel(net, device_ids=list(range(n)))
    x, y = x_y()[0].cuda(), gt.linspace(-1, 1, 28, device="cuda").reshape(7, 4)
    steps = [(dp, gt.optim.SGD(dp.parameters(), lr=0.1)),
             (bare, gt.optim.SGD(bare.parameters(), lr=0.1))]
    outs = []
    for model, opt in steps:
        opt.zero_grad()
        out = model(x)
        ((out - y) ** 2).mean().backward()
        opt.step()
        outs.append(out)
    assert outs[0].device == gt.device("cuda", 0)
    np.testing.assert_allclose(outs[0].detach().cpu().numpy(), outs[1].detach().cpu().numpy(),
                               rtol=1e-5, atol=1e-6)
    for (k, p), q in zip(net.named_parameters(), bare.parameters()):
        assert p.device == gt.device("cuda", 0) and p.grad.device == gt.device("cuda", 0)
        np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.cpu().numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=k)
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().cpu().numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=k)
    # each replica ran on its own device with that device current, on its chunk of the batch
    expected = [(i, i, i, s) for i, s in enumerate([4, 3] if n == 2 else [3, 3, 1])]
    assert sorted(net[2].calls) == expected


def test_scatter_kwargs_output_device_and_short_batches(monkeypatch):
    sim_devices(monkeypatch, 3)
    probe = Probe().cuda()
    bare = copy.deepcopy(probe)
    x = gt.linspace(-1, 1, 15).reshape(5, 3).cuda()
    shift = gt.arange(5.0).reshape(5, 1).cuda()
    dp = nn.DataParallel(probe, output_device=2)
    out = dp(x, scale=2.0, shift=shift)
    assert dp.device_ids == [0, 1, 2] and out.device == gt.device("cuda", 2)
    np.testing.assert_allclose(out.detach().cpu().numpy(),
                               bare(x, 2.0, shift).detach().cpu().numpy(), rtol=1e-6)
    probe.calls.clear()
    cpu_out = nn.DataParallel(probe, output_device=-1)(x[:2])  # 2 rows: only 2 replicas run
    assert cpu_out.device == gt.device("cpu") and sorted(c[0] for c in probe.calls) == [0, 1]
    with pytest.raises(RuntimeError, match=r"on device cuda:1 \(device_ids\[0\]\) but found one "
                                           r"of them on device: cuda:0"):
        nn.DataParallel(probe, device_ids=[1, 0])(x)
    fn_out = data_parallel(probe, x, device_ids=[0, 2], output_device=1)
    assert fn_out.device == gt.device("cuda", 1)
    np.testing.assert_allclose(fn_out.detach().cpu().numpy(), bare(x).detach().cpu().numpy(),
                               rtol=1e-6)


def test_replicate_broadcasts_and_sums_gradients_back(monkeypatch):
    sim_devices(monkeypatch, 3)
    net = nn.Sequential(Probe(), nn.Sequential(Probe())).cuda()
    single = copy.deepcopy(net)
    replicas = replicate(net, [0, 1, 2])
    assert len(replicas) == 3
    for i, r in enumerate(replicas):
        assert r[0].w.device == gt.device("cuda", i) and r[1][0].b.device.index == i
        assert list(r.parameters()) == [] and r[1][0] is not net[1][0]  # torch's replicas
    assert replicas[0][0].w is net[0].w  # the source device's replica uses the originals
    total = sum(r(gt.ones(2, 3, device=f"cuda:{i}")).sum().to("cuda:0")
                for i, r in enumerate(replicas))
    total.backward()
    single(gt.ones(2, 3, device="cuda")).sum().backward()
    for p, q in zip(net.parameters(), single.parameters()):
        np.testing.assert_allclose(p.grad.cpu().numpy(), 3 * q.grad.cpu().numpy(), rtol=1e-6)
    detached = replicate(net, [0, 1], detach=True)
    assert not detached[1][0].w.requires_grad


def test_batchnorm_running_stats_come_from_the_first_replica(monkeypatch):
    sim_devices(monkeypatch, 2)
    bn = nn.BatchNorm1d(3).cuda()
    ref = copy.deepcopy(bn)
    x = gt.linspace(-2, 3, 18).reshape(6, 3).cuda() ** 2
    out = nn.DataParallel(bn)(x)
    parts = [ref(x[:3]), copy.deepcopy(ref)(x[3:])]  # ref's own stats see the first chunk only
    np.testing.assert_allclose(out.detach().cpu().numpy(),
                               gt.cat(parts).detach().cpu().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_mean.cpu().numpy(), ref.running_mean.cpu().numpy(),
                               rtol=1e-6)
    assert int(bn.num_batches_tracked.item()) == 1


def test_replica_errors_and_scalar_outputs(monkeypatch):
    sim_devices(monkeypatch, 2)

    class Picky(nn.Module):
        def forward(self, x):
            if gt.cuda.current_device() == 1:
                raise ValueError("bad rows")
            return x.sum()

    with pytest.raises(ValueError, match="Caught ValueError in replica 1 on device 1"):
        nn.DataParallel(Picky())(gt.ones(4, 2, device="cuda"))

    class Total(nn.Module):
        def forward(self, x):
            return x.sum()

    with pytest.warns(UserWarning, match="all input tensors were scalars"):
        out = nn.DataParallel(Total())(gt.ones(4, 2, device="cuda"))
    assert out.shape == (2,) and out.tolist() == [4.0, 4.0]
    with gt.no_grad():
        outs = parallel_apply([Probe().cuda(), Probe().cuda(1)],
                              [gt.ones(1, 3, device="cuda:0"), gt.ones(1, 3, device="cuda:1")])
    assert [o.device.index for o in outs] == [0, 1] and not outs[0].requires_grad
