"""``DistributedSampler``: each of ``num_replicas`` processes reads its own shard of a dataset.

Torch's semantics: the index list (shuffled with ``seed + epoch`` when ``shuffle``, by torch's
own mt19937 ``randperm`` so shards match torch's exactly) is padded by wrapping around to a
multiple of ``num_replicas`` (or truncated with ``drop_last``), and rank r takes every
num_replicas-th index from r. Without explicit ``num_replicas``/``rank`` it asks the default
process group, which needs ``gputensor.distributed`` initialised.
"""
from __future__ import annotations

import math
from typing import Iterator, Sized

from ._torch_randperm import torch_randperm
from .sampler import Sampler

_NO_GROUP = ("Default process group has not been initialized, please make sure to call "
             "init_process_group.")


def _dist():
    """``gputensor.distributed`` (imported lazily), checked as torch checks it."""
    try:
        from ... import distributed as dist
    except ImportError:
        dist = None
    if dist is None or not dist.is_available():
        raise RuntimeError("Requires distributed package to be available")
    if not dist.is_initialized():
        raise ValueError(_NO_GROUP)
    return dist


class DistributedSampler(Sampler):
    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None:
            num_replicas = _dist().get_world_size()
        if rank is None:
            rank = _dist().get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.epoch, self.drop_last, self.shuffle, self.seed = 0, drop_last, shuffle, seed
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = torch_randperm(n, self.seed + self.epoch)
        else:
            indices = list(range(n))
        if not self.drop_last:
            pad = self.total_size - len(indices)
            if pad <= len(indices):
                indices += indices[:pad]
            else:
                indices += (indices * math.ceil(pad / len(indices)))[:pad]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle differently next pass (call at each epoch's start, as in torch)."""
        self.epoch = epoch


__all__ = ["DistributedSampler"]
