"""``torch.random``: the global generator's seed and state, and ``fork_rng``."""
from __future__ import annotations

import contextlib

from ._generator import Generator
from .backends import _backends
from .ops.creation import get_rng_state, initial_seed, manual_seed, seed, set_rng_state


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type: str = "cuda"):
    """Random draws inside the block leave the global generators as they were before it. (A
    real GPU's CuPy generator cannot be saved: its stream is not restored.)"""
    if not enabled:
        yield
        return
    saved = [(b, b.get_rng_state()) for b in list(_backends.values())]
    try:
        yield
    finally:
        for b, state in saved:
            if state is not None:
                b.set_rng_state(state)


__all__ = ["Generator", "fork_rng", "get_rng_state", "initial_seed", "manual_seed", "seed",
           "set_rng_state"]
