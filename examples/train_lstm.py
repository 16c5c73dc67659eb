"""Sequence classification that needs memory: an LSTM must recall the first token of a sequence.

Each sample is ``--seq-len`` random tokens from a vocabulary of ``--vocab``; the label is the first
token, so the model has to carry it across every later step. The architecture is the reference
text classifier (Embedding -> Dropout -> 2-layer LSTM -> Linear on the last step).

    python examples/train_lstm.py                  # reaches >= 95% test accuracy
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from tqdm import tqdm

import gputensor as torch
import gputensor.nn as nn
import gputensor.optim as optim
from gputensor.utils.data import DataLoader, TensorDataset


class SeqClassifier(nn.Module):
    def __init__(self, vocab: int, embed: int, hidden: int, num_classes: int, layers: int = 2,
                 dropout: float = 0.1):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embed, hidden, layers, dropout=dropout, batch_first=True)
        self.fc = nn.Linear(hidden, num_classes)
        self.layers, self.hidden = layers, hidden

    def forward(self, x):
        h0 = torch.zeros(self.layers, x.size(0), self.hidden).to(x.device)
        c0 = torch.zeros(self.layers, x.size(0), self.hidden).to(x.device)
        out, (hn, cn) = self.lstm(self.dropout(self.embedding(x)), (h0, c0))
        return self.fc(out[:, -1, :])


def make_data(n: int, seq_len: int, vocab: int, rng: np.random.Generator):
    x = rng.integers(0, vocab, size=(n, seq_len)).astype(np.int64)
    return x, x[:, 0].copy()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", default=None,
                   help="cpu or cuda; None picks cuda when available, else cpu")
    p.add_argument("--epochs", type=int, default=10, help="passes over the training set")
    p.add_argument("--batch-size", type=int, default=64, help="sequences per optimizer step")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    p.add_argument("--seq-len", type=int, default=10, help="tokens per sequence")
    p.add_argument("--vocab", type=int, default=8, help="vocabulary size (= number of classes)")
    p.add_argument("--hidden", type=int, default=32, help="LSTM hidden size")
    p.add_argument("--train-size", type=int, default=2048, help="training sequences")
    p.add_argument("--seed", type=int, default=0, help="seed for data, weights and shuffling")
    p.add_argument("--smoke", action="store_true",
                   help="2 steps on tiny shapes (CI; cpu and simulated cuda)")
    return p


def main(argv=None) -> float:
    args = build_parser().parse_args(argv)
    if args.smoke:
        args.epochs, args.train_size, args.batch_size = 1, 16, 8
        args.hidden, args.seq_len = 4, 4
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x_tr, y_tr = make_data(args.train_size, args.seq_len, args.vocab, rng)
    x_te, y_te = make_data(max(args.train_size // 4, 8), args.seq_len, args.vocab, rng)
    g = torch.Generator().manual_seed(args.seed)
    loader = DataLoader(TensorDataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr)),
                        batch_size=args.batch_size, shuffle=True, generator=g)
    model = SeqClassifier(args.vocab, 16 if not args.smoke else 4, args.hidden, args.vocab).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        total, n = 0.0, 0
        for i, (xb, yb) in enumerate(tqdm(loader, desc=f"epoch {epoch + 1}", leave=False,
                                          disable=None)):
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
            n += len(yb)
            if args.smoke and i >= 1:
                break
        acc = accuracy(model, x_te, y_te, device)
        print(f"epoch {epoch + 1}: loss {total / max(n, 1):.4f}, test accuracy {acc:.2%}")
    acc = accuracy(model, x_te, y_te, device)
    print(f"final test accuracy: {acc:.2%} on {device} in {time.perf_counter() - t0:.1f} s")
    return acc


def accuracy(model, x, y, device) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x).to(device)).argmax(dim=1).cpu().numpy()
    model.train()
    return float((pred == y).mean())


if __name__ == "__main__":
    main()
