"""``gputensor.backends.cudnn``: torch's cuDNN switches, accepted so that programs setting them run.

gputensor never calls cuDNN: convolution and pooling on cuda are its own Numba kernels, which
are written without atomics (every output element is summed in a fixed order), so results are
already deterministic and ``deterministic=True`` changes nothing. They compute in full float32
(``allow_tf32`` has no effect: no TF32 path exists) and there is one algorithm per op, so
``benchmark`` has nothing to choose between. ``enabled=False`` is honoured trivially (no cuDNN
is used either way). ``is_available()`` is False and ``version()`` None, as in a torch build
without cuDNN.
"""
from __future__ import annotations

import contextlib

enabled: bool = True
benchmark: bool = False
deterministic: bool = False
allow_tf32: bool = True
benchmark_limit: int = 10


def is_available() -> bool:
    return False


def version():
    return None


def is_acceptable(tensor) -> bool:
    return False


@contextlib.contextmanager
def flags(enabled: bool = False, benchmark: bool = False, benchmark_limit: int = 10,
          deterministic: bool = False, allow_tf32: bool = True):
    """Set the switches for a ``with`` block, restoring them after (as torch's ``flags``)."""
    g = globals()
    names = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")
    saved = {n: g[n] for n in names}
    g.update(enabled=enabled, benchmark=benchmark, benchmark_limit=benchmark_limit,
             deterministic=deterministic, allow_tf32=allow_tf32)
    try:
        yield
    finally:
        g.update(saved)
