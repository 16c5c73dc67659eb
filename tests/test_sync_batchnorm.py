"""SyncBatchNorm: 2-rank jobs against BatchNorm on the concatenated batch, and the single-process
behaviours (no process group: plain batch norm, as torch) against torch itself.

Observed when written (2 ranks holding 3 and 4 samples): outputs and input gradients within
2.4e-7 of BatchNorm on all 7, rank-summed weight/bias gradients within 1.5e-6, running stats
within 1.2e-7; DDP training of a converted conv net equal to single-process training to 2e-8.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import gputensor as gt
import gputensor.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROGRAM = os.path.join(HERE, "ddp_programs", "sync_bn.py")
MPIEXEC = os.path.join(os.path.dirname(sys.executable), "mpiexec")


def run_ranks(out, *args) -> list:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=ROOT)
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable, PROGRAM, str(out), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [json.load(open(out / f"rank{r}.json")) for r in range(2)]


def check_layer(res: dict) -> None:
    assert res["type"] == "SyncBatchNorm" and res["batches"] == 1
    for key in ("out", "grad_input", "running_mean", "running_var"):
        assert res[key] < 1e-5, (key, res[key])
    for key in ("grad_weight", "grad_bias"):
        assert res[key] < 1e-4, (key, res[key])
    assert res["local_grad_weight_differs"]  # weight grads stay local, as torch's


def test_two_ranks_match_batchnorm_on_concatenated_batch(tmp_path):
    for rank in run_ranks(tmp_path):
        check_layer(rank["layer4d"])
        check_layer(rank["layer3d"])
        for key, diff in rank["training"].items():
            assert diff < 1e-6, (key, diff)


def test_two_ranks_on_cuda(tmp_path):
    for rank in run_ranks(tmp_path, "--cuda"):
        assert rank["layer3d"]["device"] == "cuda:0"
        check_layer(rank["layer3d"])


# -- single process: no process group -------------------------------------------------------

@pytest.mark.parametrize("training", [True, False])
def test_without_process_group_is_batch_norm(device, training):
    x = np.random.default_rng(0).standard_normal((5, 3, 3)).astype(np.float32)
    ours, ref = nn.SyncBatchNorm(3, momentum=None).to(device), torch.nn.SyncBatchNorm(
        3, momentum=None)
    ours.train(training)
    ref.train(training)
    for _ in range(2):
        xt = gt.tensor(x, device=device, requires_grad=True)
        xr = torch.tensor(x, requires_grad=True)
        out, out_ref = ours(xt), ref(xr)
        (out * out).sum().backward()
        (out_ref * out_ref).sum().backward()
        np.testing.assert_allclose(out.detach().cpu().numpy(), out_ref.detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(xt.grad.cpu().numpy(), xr.grad.numpy(), rtol=1e-3,
                                   atol=1e-4)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ours, name).cpu().numpy(),
                                   getattr(ref, name).numpy(), rtol=1e-5, err_msg=name)


def test_errors_match_torch():
    with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input\)"):
        nn.SyncBatchNorm(3)(gt.ones(3))
    with pytest.raises(ValueError, match="number of input channels should be non-zero"):
        nn.SyncBatchNorm(0)(gt.ones(2, 0))


def test_constructor_repr_and_paths():
    m = nn.SyncBatchNorm(4, eps=1e-3, momentum=0.2, affine=False, process_group=None)
    r = torch.nn.SyncBatchNorm(4, eps=1e-3, momentum=0.2, affine=False)
    assert repr(m) == repr(r)
    assert list(nn.SyncBatchNorm(4).state_dict()) == list(torch.nn.SyncBatchNorm(4).state_dict())
    assert nn.modules.batchnorm.SyncBatchNorm is nn.SyncBatchNorm
    assert "SyncBatchNorm" in nn.modules.__all__
    assert nn.SyncBatchNorm(2, bias=False).bias is None


def test_convert_sync_batchnorm_shares_state():
    inner = nn.BatchNorm1d(2).eval()
    net = nn.Sequential(nn.Conv2d(1, 3, 1), nn.BatchNorm2d(3),
                        nn.Sequential(inner, nn.InstanceNorm1d(2)))
    bn = net[1]
    conv = nn.SyncBatchNorm.convert_sync_batchnorm(net, process_group="pg")
    assert conv is net and isinstance(conv[1], nn.SyncBatchNorm)
    assert conv[1].weight is bn.weight and conv[1].running_mean is bn.running_mean
    assert conv[1].process_group == "pg" and conv[1].training
    assert isinstance(conv[2][0], nn.SyncBatchNorm) and not conv[2][0].training
    assert isinstance(conv[2][1], nn.InstanceNorm1d)  # not a _BatchNorm: left alone
    ref = torch.nn.SyncBatchNorm.convert_sync_batchnorm(
        torch.nn.Sequential(torch.nn.Conv2d(1, 3, 1), torch.nn.BatchNorm2d(3),
                            torch.nn.Sequential(torch.nn.BatchNorm1d(2),
                                                torch.nn.InstanceNorm1d(2))))
    assert repr(conv) == repr(ref)
    lone = nn.BatchNorm3d(5, affine=False)
    out = nn.SyncBatchNorm.convert_sync_batchnorm(lone)
    assert isinstance(out, nn.SyncBatchNorm) and out is not lone and out.weight is None
