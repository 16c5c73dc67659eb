"""Linear and logistic regression as in the PyTorch tutorials (nn modules, and by hand).

    python examples/regression.py [--device cpu|cuda] [--smoke]
"""
from __future__ import annotations

import argparse

import gputensor as torch
import gputensor.nn as nn
import gputensor.nn.functional as F
import gputensor.optim as optim


def linear_regression(device, steps: int) -> float:
    """nn.Linear(2, 1) + MSELoss + SGD on 100 noisy points of y = 2*x0 - 3*x1 + 1."""
    X = torch.randn(100, 2, device=device)
    y = X @ torch.tensor([[2.0], [-3.0]], device=device) + 1.0 + 0.01 * torch.randn(100, 1, device=device)
    model = nn.Linear(2, 1).to(device)
    criterion = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = criterion(model(X), y)
        loss.backward()
        optimizer.step()
    print(f"linear regression: loss {loss.item():.5f}, weight {model.weight.detach().cpu().tolist()}, "
          f"bias {model.bias.item():.3f}")
    return loss.item()


def logistic_regression(device, steps: int) -> float:
    """sigmoid(nn.Linear(2, 1)) + BCELoss on two Gaussian blobs; returns accuracy."""
    n = 100
    X = torch.cat([torch.randn(n, 2, device=device) + 2.0, torch.randn(n, 2, device=device) - 2.0])
    y = torch.cat([torch.ones(n, 1, device=device), torch.zeros(n, 1, device=device)])
    linear = nn.Linear(2, 1).to(device)
    criterion = nn.BCELoss()
    optimizer = optim.SGD(linear.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = criterion(torch.sigmoid(linear(X)), y)
        loss.backward()
        optimizer.step()
    acc = ((torch.sigmoid(linear(X)) > 0.5).float() == y).float().mean().item()
    print(f"logistic regression: loss {loss.item():.4f}, accuracy {acc:.2%}")
    return acc


def by_hand(device, steps: int) -> float:
    """Hand-written parameters, loss and update under no_grad (the tutorial's first chapter)."""
    X = torch.randn(100, 2, device=device)
    y = X @ torch.tensor([[0.5], [-1.5]], device=device) + 0.3
    w = torch.randn(2, 1, device=device, requires_grad=True)
    b = torch.zeros(1, device=device, requires_grad=True)
    for _ in range(steps):
        loss = torch.mean((X @ w + b - y) ** 2)
        loss.backward()
        with torch.no_grad():
            w -= 0.05 * w.grad
            b -= 0.05 * b.grad
            w.grad.zero_()
            b.grad.zero_()
    z = X @ w + b
    bce = F.binary_cross_entropy(torch.sigmoid(z), (y > 0).float().view(-1, 1))
    print(f"by hand: loss {loss.item():.5f}, w {w.detach().cpu().view(-1).tolist()}, "
          f"b {b.item():.3f}; BCE of its sign classifier {bce.item():.3f}")
    return loss.item()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", default=None,
                   help="cpu or cuda; None picks cuda when available, else cpu")
    p.add_argument("--steps", type=int, default=1000, help="optimizer steps for each model")
    p.add_argument("--smoke", action="store_true", help="3 steps each (CI; cpu and simulated cuda)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    steps = 3 if args.smoke else args.steps
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(0)
    return (linear_regression(device, steps), logistic_regression(device, steps),
            by_hand(device, steps))


if __name__ == "__main__":
    main()
