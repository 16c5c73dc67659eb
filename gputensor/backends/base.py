"""What every backend provides: an array module, a kernel table and a random generator."""
from __future__ import annotations

import importlib

import numpy as np


class KernelTable:
    """Named kernels of one device, imported on first use (so numba loads only when needed).

    ``entries`` maps a kernel name to ``"module:function"``. ``override`` swaps one entry at run
    time (e.g. the cuda matmul between the hand-written kernel and cuBLAS).
    """

    def __init__(self, entries: dict[str, str]):
        self._entries = dict(entries)
        self._loaded: dict[str, object] = {}

    def __getattr__(self, name: str):
        try:
            return self._loaded[name]
        except KeyError:
            pass
        try:
            spec = self._entries[name]
        except KeyError:
            raise AttributeError(f"no kernel {name!r} in this backend's table") from None
        module, func = spec.split(":")
        fn = getattr(importlib.import_module(module), func)
        self._loaded[name] = fn
        return fn

    def override(self, name: str, spec: str) -> None:
        self._entries[name] = spec
        self._loaded.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._entries)


class Backend:
    """One device's compute: ``xp`` (numpy or cupy) for array math plus ``kernels``.

    Ops are written once against this interface; only the kernels differ per device.
    """

    name: str
    xp = np
    kernels: KernelTable

    def __init__(self):
        self._seed = 67280421310721
        self.rng = self._new_rng(self._seed)

    # -- host transfer -------------------------------------------------------------------------
    def from_numpy(self, a: np.ndarray):
        """Copy a host array onto this device."""
        raise NotImplementedError

    def to_numpy(self, a) -> np.ndarray:
        """Copy (or view, on cpu) a device array as a host NumPy array."""
        raise NotImplementedError

    def synchronize(self) -> None:
        pass

    # -- random numbers ------------------------------------------------------------------------
    def _new_rng(self, seed: int):
        return np.random.Generator(np.random.PCG64(seed))

    def manual_seed(self, seed: int) -> None:
        self._seed = int(seed)
        self.rng = self._new_rng(self._seed)

    def initial_seed(self) -> int:
        return self._seed

    def get_rng_state(self):
        return self.rng.bit_generator.state

    def set_rng_state(self, state) -> None:
        self.rng.bit_generator.state = state

    def uniform(self, low, high, shape, np_dtype):
        return HOST_RANDOM["uniform"](self.rng, low, high, shape, np_dtype)

    def normal(self, mean, std, shape, np_dtype):
        return HOST_RANDOM["normal"](self.rng, mean, std, shape, np_dtype)

    def integers(self, low, high, shape, np_dtype):
        return HOST_RANDOM["integers"](self.rng, low, high, shape, np_dtype)

    def permutation(self, n, np_dtype):
        return HOST_RANDOM["permutation"](self.rng, n, np_dtype)


# Draws from a NumPy Generator, by name: the cpu backend's (and a user Generator's) random numbers.
HOST_RANDOM = {
    "uniform": lambda rng, low, high, shape, np_dtype:
        rng.uniform(low, high, size=shape).astype(np_dtype, copy=False),
    "normal": lambda rng, mean, std, shape, np_dtype:
        rng.normal(mean, std, size=shape).astype(np_dtype, copy=False),
    "integers": lambda rng, low, high, shape, np_dtype:
        rng.integers(low, high, size=shape).astype(np_dtype, copy=False),
    "permutation": lambda rng, n, np_dtype: rng.permutation(n).astype(np_dtype, copy=False),
}
