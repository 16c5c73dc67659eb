"""``save``/``load``: checkpoints without pickle (filled in by the training-stack work)."""
from __future__ import annotations


def save(obj, f) -> None:
    raise NotImplementedError("gputensor.save is not implemented yet")


def load(f, map_location=None, weights_only: bool = True):
    raise NotImplementedError("gputensor.load is not implemented yet")
