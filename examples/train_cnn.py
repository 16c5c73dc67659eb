"""Train the reference CNN (conv-relu-pool x2, two linear layers) on handwritten digits.

Default data: scikit-learn's bundled 8x8 digits (offline). ``--dataset mnist --data-dir DIR`` reads
the standard MNIST IDX files instead. Written as ordinary PyTorch code: only the import differs.

    python examples/train_cnn.py                   # cuda when available, else cpu
    python examples/train_cnn.py --device cpu --epochs 5 --checkpoint   # resumable
    python examples/train_cnn.py --help            # every option, with its default

Outputs (loss curve, checkpoint) go to ``runs/train_cnn/`` (``runs/train_cnn/smoke/`` for
``--smoke``); ``runs/`` is ignored by git.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gputensor as torch  # noqa: E402
import gputensor.nn as nn  # noqa: E402
import gputensor.optim as optim  # noqa: E402
from gputensor.utils.data import DataLoader, TensorDataset  # noqa: E402

from datasets import load_digits, load_mnist  # noqa: E402


class Net(nn.Module):
    """The reference CNN, its flatten size derived from the input side (24 -> 6, 8 -> 2).

    ``width`` scales the channel and hidden sizes (1.0: 32, 64, 128 as in the reference); the
    smoke run uses a narrow copy so that the simulated cuda device finishes in seconds.
    """

    def __init__(self, in_channels: int = 1, side: int = 8, num_classes: int = 10,
                 width: float = 1.0):
        super().__init__()
        c1, c2, hidden = (max(1, round(n * width)) for n in (32, 64, 128))
        self.conv1 = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.flat = c2 * (side // 4) * (side // 4)
        self.fc1 = nn.Linear(self.flat, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = x.view(-1, self.flat)
        return self.fc2(self.relu(self.fc1(x)))


def evaluate(net, loader, device) -> float:
    net.eval()
    correct = total = 0
    with torch.no_grad():
        for inputs, labels in loader:
            outputs = net(inputs.to(device))
            correct += (outputs.argmax(dim=1) == labels.to(device)).sum().item()
            total += labels.shape[0]
    net.train()
    return correct / max(total, 1)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", default=None,
                   help="cpu or cuda; None picks cuda when available, else cpu")
    p.add_argument("--dataset", choices=["digits", "mnist"], default="digits",
                   help="digits: scikit-learn's bundled 8x8 digits; mnist: IDX files in --data-dir")
    p.add_argument("--data-dir", default=None,
                   help="folder with the MNIST IDX files (--dataset mnist)")
    p.add_argument("--epochs", type=int, default=12, help="passes over the training set")
    p.add_argument("--batch-size", type=int, default=32, help="images per optimizer step")
    p.add_argument("--lr", type=float, default=0.02, help="SGD learning rate")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    p.add_argument("--out-dir", default=None,
                   help="folder for the loss plot and checkpoint; None: runs/train_cnn, or "
                        "runs/train_cnn/smoke with --smoke, so a smoke run never overwrites a "
                        "real run's outputs")
    p.add_argument("--checkpoint", nargs="?", const="", default=None, metavar="PATH",
                   help="save model and optimizer each epoch and resume from PATH if it exists; "
                        "without PATH: OUT_DIR/checkpoint.ckpt; None: no checkpoint")
    p.add_argument("--plot", default="loss.png",
                   help="loss-curve PNG, relative to --out-dir ('' to skip)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights, split and shuffling")
    p.add_argument("--width", type=float, default=1.0,
                   help="scale of the channel/hidden sizes (1.0: 32, 64, 128)")
    p.add_argument("--smoke", action="store_true",
                   help="2 steps per epoch of a narrow net on a small subset, 1 epoch unless "
                        "--epochs is given (CI; cpu and simulated cuda)")
    return p


def parse_args(argv=None):
    args = build_parser().parse_args(argv)
    if args.out_dir is None:
        args.out_dir = os.path.join("runs", "train_cnn", *(["smoke"] if args.smoke else []))
    if args.checkpoint == "":
        args.checkpoint = os.path.join(args.out_dir, "checkpoint.ckpt")
    if args.plot:
        args.plot = os.path.join(args.out_dir, args.plot)
    return args


def main(argv=None) -> float:
    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(args.seed)
    if args.dataset == "mnist":
        if not args.data_dir:
            raise SystemExit("--dataset mnist needs --data-dir with the MNIST IDX files")
        x_tr, y_tr, x_te, y_te = load_mnist(args.data_dir)
    else:
        x_tr, y_tr, x_te, y_te = load_digits(seed=args.seed)
    if args.smoke:
        x_tr, y_tr, x_te, y_te = x_tr[:8], y_tr[:8], x_te[:4], y_te[:4]
        if args.epochs == build_parser().get_default("epochs"):
            args.epochs = 1
        args.batch_size = min(args.batch_size, 4)
        args.width = min(args.width, 0.125)
    side = x_tr.shape[-1]
    train = TensorDataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr))
    test = TensorDataset(torch.from_numpy(x_te), torch.from_numpy(y_te))
    g = torch.Generator().manual_seed(args.seed)
    trainloader = DataLoader(train, batch_size=args.batch_size, shuffle=True, generator=g)
    testloader = DataLoader(test, batch_size=256)

    net = Net(x_tr.shape[1], side, width=args.width).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=args.lr, momentum=args.momentum)
    start_epoch, history = 0, []
    if args.checkpoint and os.path.exists(args.checkpoint):
        ckpt = torch.load(args.checkpoint, map_location=device)
        net.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        start_epoch, history = ckpt["epoch"], list(ckpt["history"])
        print(f"resumed from {args.checkpoint} at epoch {start_epoch}")

    print(f"training on {device} ({'simulator' if device.type == 'cuda' and torch.cuda.is_simulator() else 'native'}), "
          f"{len(train)} train / {len(test)} test images of {tuple(x_tr.shape[1:])}")
    t0 = time.perf_counter()
    for epoch in range(start_epoch, args.epochs):
        running_loss, correct, seen = 0.0, 0, 0
        bar = tqdm(trainloader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False,
                   disable=None)
        for i, (inputs, labels) in enumerate(bar, 0):
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item() * labels.shape[0]
            correct += (outputs.argmax(dim=1) == labels).sum().item()
            seen += labels.shape[0]
            history.append(loss.item())
            bar.set_postfix(loss=f"{running_loss / seen:.4f}", acc=f"{correct / seen:.2%}")
            if args.smoke and i >= 1:
                break
        acc = evaluate(net, testloader, device)
        print(f"epoch {epoch + 1}: loss {running_loss / max(seen, 1):.4f}, test accuracy "
              f"{acc:.2%} ({time.perf_counter() - t0:.1f} s)")
        if args.checkpoint:
            os.makedirs(os.path.dirname(args.checkpoint) or ".", exist_ok=True)
            torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(),
                        "epoch": epoch + 1, "history": history}, args.checkpoint)
    acc = evaluate(net, testloader, device)
    print(f"final test accuracy: {acc:.2%} on {device} in {time.perf_counter() - t0:.1f} s")
    if args.plot:
        os.makedirs(os.path.dirname(args.plot) or ".", exist_ok=True)
        _plot(history, args.plot)
    return acc


def _plot(history, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = np.arange(1, len(history) + 1)
    ax.plot(steps, history, lw=0.6, alpha=0.5, label="batch loss")
    if len(history) >= 20:
        k = 20
        ax.plot(steps[k - 1:], np.convolve(history, np.ones(k) / k, mode="valid"), label="mean of 20")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy")
    ax.set_title("train_cnn.py loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"loss curve saved to {path}")


if __name__ == "__main__":
    main()
