"""DDP behaviours besides plain training, one small check each; run under ``mpiexec -n 2``.

``ddp_features.py OUT_DIR [--cuda]`` writes ``OUT_DIR/rank{r}.json``: gradients, buffers, state_dict keys
and error messages as plain lists and strings, compared across ranks by tests/test_ddp.py.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import timedelta

import gputensor as torch
import gputensor.distributed as dist
import gputensor.nn as nn
from gputensor.nn.parallel import DistributedDataParallel as DDP


def grads(module) -> dict:
    return {n: (None if p.grad is None else p.grad.tolist()) for n, p in module.named_parameters()}


def rank_data(rank: int, step: int, n: int = 3):
    g = torch.Generator().manual_seed(1000 * step + rank)
    return torch.randn(n, 3, generator=g)


def check_no_sync(rank: int, world: int) -> dict:
    """Inside no_sync gradients are local (they differ across ranks); the next synced backward
    averages the accumulated sums. ``expected`` is computed here without DDP."""
    torch.manual_seed(0)
    net = nn.Linear(3, 2)
    plain = nn.Linear(3, 2)
    model = DDP(net)
    plain.load_state_dict(net.state_dict())
    with model.no_sync():
        model(rank_data(rank, 0)).pow(2).sum().backward()
    inside = grads(net)
    model(rank_data(rank, 1)).pow(2).sum().backward()
    after = grads(net)
    expected = []  # mean over ranks of the two micro-batch gradients summed
    for r in range(world):
        plain.zero_grad()
        plain(rank_data(r, 0)).pow(2).sum().backward()
        plain(rank_data(r, 1)).pow(2).sum().backward()
        expected.append(plain.weight.grad.clone())
    return {"inside": inside, "after": after,
            "expected_weight": (sum(expected) / world).tolist()}


class TwoBranch(nn.Module):
    """``a`` always used; ``b`` used on rank 1 only (when asked); ``c`` never used."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(3, 2)
        self.c = nn.Linear(3, 2)

    def forward(self, x, use_b: bool = False):
        out = self.a(x)
        return out + self.b(x) if use_b else out


def check_unused_error(rank: int) -> dict:
    torch.manual_seed(0)
    model = DDP(TwoBranch())
    model(rank_data(rank, 0)).sum().backward()
    first_ok = all(p.grad is not None for p in model.module.a.parameters())
    try:
        model(rank_data(rank, 1))
        message, kind = None, None
    except RuntimeError as exc:
        message, kind = str(exc), type(exc).__name__
    with torch.no_grad():  # torch checks only forwards that record gradients
        model(rank_data(rank, 1))
    return {"first_ok": first_ok, "message": message, "type": kind}


def check_find_unused(rank: int, world: int) -> dict:
    torch.manual_seed(0)
    net = TwoBranch()
    model = DDP(net, find_unused_parameters=True)
    out = {}
    for step in range(2):
        net.zero_grad()
        x = rank_data(rank, step)
        model(x, use_b=(rank == 1)).sum().backward()
        out[f"step{step}"] = grads(net)
    # the expected grad of b.weight: rank 1's local gradient / world (zeros from rank 0)
    out["b_weight_expected"] = (rank_data(1, 1).sum(0, keepdim=True).expand(2, 3)
                                / world).tolist()
    return out


class Counter(nn.Module):
    """A buffer each rank changes differently in forward (as BatchNorm's running stats)."""

    def __init__(self, rank: int):
        super().__init__()
        self.lin = nn.Linear(3, 2)
        self.register_buffer("count", torch.full((2,), 10.0 * (rank + 1)))
        self.rank = rank

    def forward(self, x):
        with torch.no_grad():
            self.count += self.rank + 1
        return self.lin(x)


def check_buffers(rank: int) -> dict:
    out = {}
    for sync in (True, False):
        model = DDP(Counter(rank), forward_sync_buffers=sync)
        seen = [model.module.count.tolist()]  # after construction: rank 0's, both ways
        for step in range(2):
            model(rank_data(rank, step)).sum().backward()
            seen.append(model.module.count.tolist())
        out[f"sync={sync}"] = seen
    return out


def check_state_dict(rank: int) -> dict:
    torch.manual_seed(rank)
    inner = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model = DDP(inner)
    sd = model.state_dict()
    fresh = DDP(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)))
    fresh.load_state_dict(sd)
    same = all(bool((fresh.state_dict()[k] == v).all()) for k, v in sd.items())
    return {"keys": list(sd), "inner_keys": list(inner.state_dict()), "reload_equal": same,
            "weight": model.module[0].weight.tolist(), "is_module": model.module is inner}


def check_gradient_as_bucket_view(rank: int) -> dict:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    model = DDP(net, gradient_as_bucket_view=True, bucket_cap_mb=0.00005)
    out = []
    for step in range(2):
        model(rank_data(rank, step)).sum().backward()  # accumulates: no zero_grad
        out.append(grads(net))
    views = [any(p.grad._data.base is b.buffer._data for b in model._buckets)
             for p in net.parameters()]
    return {"grads": out, "grads_are_bucket_views": views,
            "buckets": [b.indices for b in model._buckets]}


def check_cuda(rank: int, world: int) -> dict:
    """A cuda module with ``device_ids=[0]``: cpu inputs are moved to the device; two SGD steps
    equal single-process cpu training on the whole batch."""
    torch.manual_seed(rank)
    net = nn.Linear(3, 2).to("cuda")
    model = DDP(net, device_ids=[0])
    ref = nn.Linear(3, 2)
    ref.load_state_dict({k: v.cpu() for k, v in net.state_dict().items()})
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for step in range(2):
        opt.zero_grad()
        out = model(rank_data(rank, step))
        out.pow(2).mean().backward()
        opt.step()
        ref_opt.zero_grad()
        torch.cat([ref(rank_data(r, step)) for r in range(world)]).pow(2).mean().backward()
        ref_opt.step()
    try:
        DDP(nn.Linear(2, 2), device_ids=[0])
        cpu_error = None
    except ValueError as exc:
        cpu_error = str(exc)
    return {"out_device": str(out.device), "device_ids": model.device_ids,
            "output_device": model.output_device, "cpu_device_ids_error": cpu_error,
            "diff": max(float((a.cpu() - b).abs().max()) for a, b in
                        zip(net.parameters(), ref.parameters()))}


def main() -> None:
    out_dir = sys.argv[1]
    dist.init_process_group("gloo", timeout=timedelta(seconds=90))  # fail, not hang
    rank, world = dist.get_rank(), dist.get_world_size()
    if sys.argv[2:] == ["--cuda"]:
        with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as fh:
            json.dump(check_cuda(rank, world), fh)
        dist.destroy_process_group()
        return
    result = {
        "no_sync": check_no_sync(rank, world),
        "unused_error": check_unused_error(rank),
        "find_unused": check_find_unused(rank, world),
        "buffers": check_buffers(rank),
        "state_dict": check_state_dict(rank),
        "bucket_view": check_gradient_as_bucket_view(rank),
    }
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as fh:
        json.dump(result, fh)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
