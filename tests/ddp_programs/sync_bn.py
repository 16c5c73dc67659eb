"""SyncBatchNorm across ranks vs BatchNorm on the concatenated batch; run under ``mpiexec -n N``.

``sync_bn.py OUT_DIR [--cuda]`` writes ``OUT_DIR/rank{r}.json`` with the largest differences found:
1. forward output, input gradient, running stats (ranks hold different batch sizes, so the
   statistics must be count-weighted) and the rank-summed weight/bias gradients, for a 4D and a
   3D input;
2. two SGD steps of DDP over a ``convert_sync_batchnorm``-ed conv net vs the plain net on the
   whole batch.
With ``--cuda`` only a small 3D-input layer check runs, on the cuda device (simulated in tests).
"""
from __future__ import annotations

import json
import os
import sys
from datetime import timedelta

import numpy as np

import gputensor as torch
import gputensor.distributed as dist
import gputensor.nn as nn
import gputensor.optim as optim


def maxdiff(a, b) -> float:
    return float(np.abs(np.asarray(a.detach().cpu().numpy(), np.float64)
                        - np.asarray(b.detach().cpu().numpy(), np.float64)).max())


def check_layer(rank: int, world: int, shape_tail: tuple, device: str = "cpu") -> dict:
    sizes = [3 + r for r in range(world)]  # unequal per-rank batches
    lo, hi = sum(sizes[:rank]), sum(sizes[:rank + 1])
    rng = np.random.default_rng(5)
    x_all = rng.standard_normal((sum(sizes), 4) + shape_tail).astype(np.float32) * 2 + 1
    w_all = rng.standard_normal(x_all.shape).astype(np.float32)
    ref = nn.BatchNorm2d(4) if len(shape_tail) == 2 else nn.BatchNorm1d(4)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor([1.0, -0.5, 2.0, 0.25]))
        ref.bias.copy_(torch.tensor([0.1, 0.2, -0.3, 0.0]))
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(type(ref)(4))
    sync.load_state_dict(ref.state_dict())
    sync.to(device)

    xr = torch.from_numpy(x_all).requires_grad_()
    out_ref = ref(xr)
    (out_ref * torch.from_numpy(w_all)).sum().backward()

    xs = torch.from_numpy(x_all[lo:hi].copy()).to(device).requires_grad_()
    out = sync(xs)
    (out * torch.from_numpy(w_all[lo:hi]).to(device)).sum().backward()
    gw, gb = sync.weight.grad.clone(), sync.bias.grad.clone()
    dist.all_reduce(gw)
    dist.all_reduce(gb)
    sync.cpu()
    return {
        "type": type(sync).__name__, "device": str(out.device),
        "out": maxdiff(out, out_ref[lo:hi]),
        "grad_input": maxdiff(xs.grad, xr.grad[lo:hi]),
        "grad_weight": maxdiff(gw, ref.weight.grad),
        "grad_bias": maxdiff(gb, ref.bias.grad),
        "local_grad_weight_differs": maxdiff(sync.weight.grad, ref.weight.grad) > 1e-3,
        "running_mean": maxdiff(sync.running_mean, ref.running_mean),
        "running_var": maxdiff(sync.running_var, ref.running_var),
        "batches": int(sync.num_batches_tracked.item()),
    }


def net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.Flatten(), nn.Linear(3 * 5 * 5, 4))


def check_training(rank: int, world: int, per_rank: int = 2, steps: int = 2) -> dict:
    torch.manual_seed(3)
    plain = net()
    model = nn.parallel.DistributedDataParallel(
        nn.SyncBatchNorm.convert_sync_batchnorm(net()))
    model.module.load_state_dict(plain.state_dict())
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = optim.SGD(plain.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(11)
    for _ in range(steps):
        x = rng.standard_normal((per_rank * world, 2, 5, 5)).astype(np.float32)
        y = rng.integers(0, 4, per_rank * world)
        sl = slice(rank * per_rank, (rank + 1) * per_rank)
        opt.zero_grad()
        loss_fn(model(torch.from_numpy(x[sl])), torch.from_numpy(y[sl])).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_fn(plain(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        ref_opt.step()
    ref_sd = plain.state_dict()
    return {k: maxdiff(v.float(), ref_sd[k].float())
            for k, v in model.module.state_dict().items()}


def main() -> None:
    out_dir = sys.argv[1]
    dist.init_process_group("gloo", timeout=timedelta(seconds=90))  # fail, not hang
    rank, world = dist.get_rank(), dist.get_world_size()
    if sys.argv[2:] == ["--cuda"]:  # simulated device: the layer alone, tiny
        result = {"layer3d": check_layer(rank, world, (3,), "cuda")}
    else:
        result = {"layer4d": check_layer(rank, world, (3, 5)),
                  "layer3d": check_layer(rank, world, (7,)),
                  "training": check_training(rank, world)}
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as fh:
        json.dump(result, fh)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
