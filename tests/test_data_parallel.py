"""nn.DataParallel: with no accelerator a transparent wrapper (torch's behaviour without GPUs);
with gputensor's single cuda device (simulated here) the module moves to cuda:0 and inputs
follow it. Either way outputs, gradients and training steps equal the bare module's.
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
    with pytest.raises(NotImplementedError, match="single device"):
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
