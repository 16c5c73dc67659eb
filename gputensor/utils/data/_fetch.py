"""Turning indices (map-style) or a stream (iterable) into batches; shared by the main process
and the worker processes so both produce identical batches."""
from __future__ import annotations

import itertools
from typing import Callable


class MapFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, index):
        if self.auto_collation:
            return self.collate_fn([self.dataset[i] for i in index])
        return self.collate_fn(self.dataset[index])


class IterableFetcher:
    """Pulls ``batch_size`` samples per batch; raises StopIteration when the stream runs out."""

    def __init__(self, dataset, batch_size: int | None, drop_last: bool, collate_fn: Callable):
        self.iterator = iter(dataset)
        self.batch_size, self.drop_last, self.collate_fn = batch_size, drop_last, collate_fn

    def fetch(self, _index=None):
        if self.batch_size is None:
            return self.collate_fn(next(self.iterator))
        batch = list(itertools.islice(self.iterator, self.batch_size))
        if not batch or (self.drop_last and len(batch) < self.batch_size):
            raise StopIteration
        return self.collate_fn(batch)
