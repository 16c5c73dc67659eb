"""Gradient buckets for DistributedDataParallel: which parameters share one all-reduce.

Gradients become ready roughly in reverse order of ``module.parameters()`` (the last layer's
first), so buckets are filled in that order: the first bucket all-reduces while backward is still
computing the earlier layers' gradients. As in torch, a bucket closes once its size reaches its
cap (the tensor that crosses the cap stays in it), parameters of different dtype or device never
share a bucket, and the first bucket of each kind may have a smaller cap (torch's 1 MiB
``first_bucket_bytes_cap``) so that communication starts early.
"""
from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...ops import creation

DEFAULT_BUCKET_CAP_MB = 25
FIRST_BUCKET_BYTES = 1024 * 1024  # torch.distributed._DEFAULT_FIRST_BUCKET_BYTES
MB = 1024 * 1024


def bucket_limits(bucket_cap_mb: float | None) -> list[int]:
    """Byte caps for the first bucket and for every later one (torch's defaults without
    ``bucket_cap_mb``; an explicit cap applies to every bucket, the first included)."""
    if bucket_cap_mb is None:
        return [FIRST_BUCKET_BYTES, DEFAULT_BUCKET_CAP_MB * MB]
    cap = int(bucket_cap_mb * MB)
    return [cap, cap]


def assign_buckets(params: list, limits: list[int]) -> list[list[int]]:
    """Split ``params`` (in the order their gradients are expected) into buckets of indices.

    Buckets are returned in the order of their first parameter, each listing its parameters in
    the given order.
    """
    open_: dict = {}   # (dtype, device) -> [indices, bytes, number of buckets closed so far]
    done: list[list[int]] = []
    for i, p in enumerate(params):
        key = (p.dtype, p.device)
        acc = open_.setdefault(key, [[], 0, 0])
        acc[0].append(i)
        acc[1] += p.numel() * p.element_size()
        if acc[1] >= limits[min(acc[2], len(limits) - 1)]:
            done.append(acc[0])
            acc[0], acc[1], acc[2] = [], 0, acc[2] + 1
    done.extend(acc[0] for acc in open_.values() if acc[0])
    return sorted(done, key=lambda b: b[0])


class Bucket:
    """One flat buffer holding the gradients of ``indices`` (into the DDP parameter list), with
    a view per parameter shaped like it, and the state of the current reduction."""

    def __init__(self, index: int, indices: list[int], params: list):
        self.index = index
        self.indices = indices
        first = params[indices[0]]
        sizes = [params[i].numel() for i in indices]
        with no_grad():
            self.buffer = creation.zeros(sum(sizes), dtype=first.dtype, device=first.device)
            self.views = []
            offset = 0
            for i, n in zip(indices, sizes):
                self.views.append(self.buffer[offset:offset + n].view(params[i].shape))
                offset += n
        self.pending = len(indices)
        self.work = None

    def reset(self) -> None:
        self.pending = len(self.indices)
        self.work = None
