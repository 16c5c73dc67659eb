"""Train the reference CNN with DistributedDataParallel: one process per replica.

Default data: scikit-learn's bundled 8x8 digits (offline), upsampled to 24x24 and repeated over
3 channels, so the network is exactly the reference one (conv 3->32, conv 32->64, 2304->128->10).
Each rank reads its own shard (DistributedSampler); gradients are averaged across ranks during
backward; rank 0 alone prints and saves the checkpoint. Written as ordinary PyTorch code: only
the import differs.

    python -m gputensor.distributed.run --nproc-per-node 2 examples/train_ddp.py
    mpiexec -n 2 python examples/train_ddp.py --epochs 1 --limit 256   # quick
    python examples/train_ddp.py                                        # one rank

Outputs (checkpoint) go to ``runs/train_ddp/``; ``runs/`` is ignored by git.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gputensor as torch  # noqa: E402
import gputensor.distributed as dist  # noqa: E402
import gputensor.nn as nn  # noqa: E402
import gputensor.optim as optim  # noqa: E402
from gputensor.nn.parallel import DistributedDataParallel as DDP  # noqa: E402
from gputensor.utils.data import DataLoader, TensorDataset  # noqa: E402
from gputensor.utils.data.distributed import DistributedSampler  # noqa: E402

from datasets import load_digits  # noqa: E402


class Net(nn.Module):
    """The reference CNN for 3x24x24 images."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(2304, 128)
        self.fc2 = nn.Linear(128, num_classes)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = x.view(-1, 2304)
        return self.fc2(self.relu(self.fc1(x)))


def digits_3x24(seed: int):
    """The digits as (N, 3, 24, 24): each pixel repeated 3x3, the gray plane over 3 channels."""
    x_tr, y_tr, x_te, y_te = load_digits(seed=seed)

    def up(x):
        return np.repeat(np.repeat(x, 3, axis=2), 3, axis=3).repeat(3, axis=1)
    return up(x_tr), y_tr, up(x_te), y_te


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", default=None,
                   help="cpu or cuda; None picks cuda when available, else cpu")
    p.add_argument("--backend", default=None, help="None: nccl on cuda, gloo on cpu")
    p.add_argument("--epochs", type=int, default=3, help="passes over the training set")
    p.add_argument("--batch-size", type=int, default=32, help="images per step on each rank")
    p.add_argument("--lr", type=float, default=0.02, help="SGD learning rate")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    p.add_argument("--limit", type=int, default=None,
                   help="use only the first N training images (and N/4 test images)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights, split and shuffling")
    p.add_argument("--out-dir", default=os.path.join("runs", "train_ddp"),
                   help="folder for the checkpoint (written by rank 0 only)")
    return p


def evaluate(model, loader, device) -> float:
    """Accuracy over every rank's shard: local counts summed with all_reduce."""
    model.eval()
    counts = torch.zeros(2, dtype=torch.int64, device=device)
    with torch.no_grad():
        for inputs, labels in loader:
            inputs, labels = inputs.to(device), labels.to(device)
            counts[0] += (model(inputs).argmax(dim=1) == labels).sum()
            counts[1] += labels.shape[0]
    dist.all_reduce(counts)
    model.train()
    return counts[0].item() / max(counts[1].item(), 1)


def main(argv=None) -> float:
    args = build_parser().parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dist.init_process_group(args.backend or ("nccl" if device.type == "cuda" else "gloo"))
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(args.seed)  # DDP broadcasts rank 0's weights anyway

    x_tr, y_tr, x_te, y_te = digits_3x24(args.seed)
    if args.limit:
        x_tr, y_tr = x_tr[:args.limit], y_tr[:args.limit]
        x_te, y_te = x_te[:max(args.limit // 4, world)], y_te[:max(args.limit // 4, world)]
    train = TensorDataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr))
    test = TensorDataset(torch.from_numpy(x_te), torch.from_numpy(y_te))
    sampler = DistributedSampler(train, shuffle=True, seed=args.seed)
    trainloader = DataLoader(train, batch_size=args.batch_size, sampler=sampler)
    testloader = DataLoader(test, batch_size=256,
                            sampler=DistributedSampler(test, shuffle=False))

    model = DDP(Net().to(device))
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    if rank == 0:
        print(f"{world} rank(s) on {device}, {len(train)} train / {len(test)} test images of "
              f"{tuple(x_tr.shape[1:])}, {len(trainloader)} steps per epoch")
    t0 = time.perf_counter()
    acc = 0.0
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        total = torch.zeros(2, dtype=torch.float64, device=device)
        for inputs, labels in trainloader:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()  # gradients all-reduced bucket by bucket during backward
            optimizer.step()
            total[0] += loss.detach().double() * labels.shape[0]
            total[1] += labels.shape[0]
        dist.all_reduce(total)
        acc = evaluate(model, testloader, device)
        if rank == 0:
            print(f"epoch {epoch + 1}: loss {total[0].item() / total[1].item():.4f}, test "
                  f"accuracy {acc:.2%} ({time.perf_counter() - t0:.1f} s)")
            os.makedirs(args.out_dir, exist_ok=True)
            torch.save({"model": model.module.state_dict(), "epoch": epoch + 1,
                        "optimizer": optimizer.state_dict()},
                       os.path.join(args.out_dir, "checkpoint.pt"))
        dist.barrier()  # nobody reads the checkpoint before rank 0 has written it
    if rank == 0:
        print(f"final test accuracy: {acc:.2%} with {world} rank(s) in "
              f"{time.perf_counter() - t0:.1f} s")
    dist.destroy_process_group()
    return acc


if __name__ == "__main__":
    main()
