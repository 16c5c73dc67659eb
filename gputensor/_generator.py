"""``gputensor.Generator``: a seedable random source for data shuffling and splitting.

Samplers and ``random_split`` take ``generator=`` so their order is reproducible without touching
the global seed; without one they draw from the cpu backend's generator (``manual_seed``).
"""
from __future__ import annotations

import numpy as np

from ._device import canonical
from .backends import get_backend

_DEFAULT_SEED = 67280421310721


class Generator:
    """A host-side PCG64 stream; ``manual_seed`` makes every later draw reproducible."""

    def __init__(self, device="cpu"):
        self.device = canonical(device)
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        """Reseed from fresh OS entropy and return the new seed."""
        s = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> "Generator":
        self._rng.bit_generator.state = state
        return self


def host_rng(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator behind ``generator``, or the global cpu one when it is None."""
    if generator is None:
        return get_backend("cpu").rng
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a gputensor.Generator, got {type(generator).__name__}")
    return generator._rng
