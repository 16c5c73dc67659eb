"""DDP training of the reference CNN vs single-process training on the concatenated batch.

Run under ``mpiexec -n N`` (or gputensor's launcher): ``ddp_train.py OUT_DIR [--steps S]
[--bucket-cap-mb MB] [--gradient-as-bucket-view]``. Every rank starts from a different random
init (DDP must broadcast rank 0's), trains on its slice of a global batch and writes its final
parameters to ``OUT_DIR/rank{r}.npz``; rank 0 also trains an unwrapped copy of its initial model
on the whole batch (``reference.npz``) and records, during the first backward, the order in
which gradients became ready and bucket all-reduces were launched (``events.json``).
"""
from __future__ import annotations

import argparse
import json
import os
from datetime import timedelta

import numpy as np

import gputensor as torch
import gputensor.distributed as dist
import gputensor.nn as nn
import gputensor.optim as optim


class Net(nn.Module):
    """The reference CNN: 3x24x24 inputs, 10 classes."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(2304, 128)
        self.fc2 = nn.Linear(128, 10)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = x.view(-1, 2304)
        return self.fc2(self.relu(self.fc1(x)))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--per-rank", type=int, default=2, help="images per rank per step")
    p.add_argument("--bucket-cap-mb", type=float, default=None)
    p.add_argument("--gradient-as-bucket-view", action="store_true")
    args = p.parse_args()

    dist.init_process_group("gloo", timeout=timedelta(seconds=90))  # fail, not hang
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(100 + rank)  # different on every rank: DDP must broadcast rank 0's
    net = Net()
    initial = {k: v.clone() for k, v in net.state_dict().items()}
    events: list = []  # registered before DDP's hooks: each "grad" precedes DDP's handling
    names = {id(p): name for name, p in net.named_parameters()}
    hooks = [p.register_post_accumulate_grad_hook(
        lambda p: events.append(["grad", names[id(p)]])) for p in net.parameters()]
    model = nn.parallel.DistributedDataParallel(
        net, bucket_cap_mb=args.bucket_cap_mb,
        gradient_as_bucket_view=args.gradient_as_bucket_view)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    data = np.random.default_rng(7)
    n = args.per_rank * world
    batches = [(data.standard_normal((n, 3, 24, 24)).astype(np.float32),
                data.integers(0, 10, n)) for _ in range(args.steps)]

    real_all_reduce = dist.all_reduce

    def logged_all_reduce(tensor, *a, **kw):
        events.append(["all_reduce", tensor.numel()])
        return real_all_reduce(tensor, *a, **kw)

    losses = []
    for step, (x, y) in enumerate(batches):
        lo, hi = rank * args.per_rank, (rank + 1) * args.per_rank
        xs, ys = torch.from_numpy(x[lo:hi]), torch.from_numpy(y[lo:hi])
        opt.zero_grad()
        loss = loss_fn(model(xs), ys)
        if step == 0:
            dist.all_reduce = logged_all_reduce
        loss.backward()
        if step == 0:
            dist.all_reduce = real_all_reduce
            events.append(["backward returned"])
            for h in hooks:
                h.remove()
        opt.step()
        losses.append(loss.item())

    np.savez(os.path.join(args.out, f"rank{rank}.npz"),
             **{k: v.numpy() for k, v in net.state_dict().items()})
    if rank == 0:
        ref = Net()
        ref.load_state_dict(initial)
        ref_opt = optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
        for x, y in batches:
            ref_opt.zero_grad()
            loss_fn(ref(torch.from_numpy(x)), torch.from_numpy(y)).backward()
            ref_opt.step()
        np.savez(os.path.join(args.out, "reference.npz"),
                 **{k: v.numpy() for k, v in ref.state_dict().items()})
        buckets = [[list(dict(net.named_parameters()))[i] for i in b.indices]
                   for b in model._buckets]
        with open(os.path.join(args.out, "events.json"), "w") as fh:
            json.dump({"events": events, "buckets": buckets, "losses": losses,
                       "world": world, "keys": list(model.state_dict())}, fh)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
