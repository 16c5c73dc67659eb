"""The cuda backend: CuPy arrays on a real GPU, or NumPy storage under Numba's CUDA simulator.

Mode is decided once, at first use: ``NUMBA_ENABLE_CUDASIM=1`` selects the simulator (kernels run
on the CPU with real thread blocks); otherwise CuPy with a visible GPU selects the real device.
Elementwise math goes through ``xp``; matmul, conv and pooling go through the hand-written Numba
kernels in ``kernels`` (set ``GPUTENSOR_MATMUL=cublas`` or call ``use_cublas()`` to route matmul
to CuPy/cuBLAS instead, the reference the benchmarks compare against).
"""
from __future__ import annotations

import os

import numpy as np

from ..kernels._window import table_entries as window_table_entries
from .base import Backend, KernelTable

CUDA_KERNELS = {
    "matmul": "gputensor.kernels.matmul_cuda:matmul",
}
CUDA_KERNELS.update(window_table_entries("cuda"))  # conv and pooling


class _MatmulFlags:
    """``gputensor.backends.cuda.matmul``: torch's switches, recorded. The hand-written matmul
    kernel always accumulates in full float32, so no TF32 or reduced-precision path exists and
    these flags change no result (they are kept so programs that set them run)."""

    allow_tf32: bool = False
    allow_fp16_reduced_precision_reduction: bool = True
    allow_bf16_reduced_precision_reduction: bool = True


matmul = _MatmulFlags()


def is_built() -> bool:
    """Whether this install can drive a GPU (CuPy importable; the simulator needs nothing)."""
    return simulator_enabled() or _probe_cupy() is not None


def simulator_enabled() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def _probe_cupy():
    try:
        import cupy
        return cupy if cupy.cuda.is_available() else None
    except Exception:
        return None


class CUDABackend(Backend):
    name = "cuda"

    def __init__(self):
        if simulator_enabled():
            self.mode = "simulator"
            self.xp = np
        else:
            cupy = _probe_cupy()
            if cupy is None:
                raise RuntimeError(
                    "CUDA is not available: no GPU visible to CuPy (install gputensor[cuda12] or "
                    "[cuda13] on a GPU machine), and NUMBA_ENABLE_CUDASIM=1 is not set")
            self.mode = "gpu"
            self.xp = cupy
        super().__init__()
        self.kernels = KernelTable(CUDA_KERNELS)
        if os.environ.get("GPUTENSOR_MATMUL", "").lower() == "cublas":
            self.use_cublas(True)

    def use_cublas(self, on: bool = True) -> None:
        """Route matmul to ``xp.matmul`` (cuBLAS on a GPU) instead of the hand-written kernel."""
        self.kernels.override("matmul", f"{self.xp.__name__}:matmul" if on else CUDA_KERNELS["matmul"])

    def from_numpy(self, a):
        a = np.asarray(a, order="C")  # ascontiguousarray would turn 0-d into 1-d
        return np.array(a, copy=True) if self.mode == "simulator" else self.xp.asarray(a)

    def to_numpy(self, a):
        return np.array(a, copy=True) if self.mode == "simulator" else self.xp.asnumpy(a)

    def synchronize(self) -> None:
        if self.mode == "gpu":
            self.xp.cuda.Device().synchronize()

    def _new_rng(self, seed):
        if getattr(self, "mode", "simulator") == "gpu":
            return self.xp.random.RandomState(seed % (2 ** 63))
        return super()._new_rng(seed ^ 0x9E3779B97F4A7C15)

    def get_rng_state(self):
        return self.rng.bit_generator.state if self.mode == "simulator" else None

    def set_rng_state(self, state) -> None:
        if self.mode == "simulator":
            self.rng.bit_generator.state = state

    # CuPy's RandomState has no ``integers``/``uniform(size=..)`` with dtype; adapt both modes.
    def uniform(self, low, high, shape, np_dtype):
        if self.mode == "gpu":
            return self.rng.uniform(low, high, size=shape).astype(np_dtype, copy=False)
        return super().uniform(low, high, shape, np_dtype)

    def integers(self, low, high, shape, np_dtype):
        if self.mode == "gpu":
            return self.rng.randint(low, high, size=shape).astype(np_dtype, copy=False)
        return super().integers(low, high, shape, np_dtype)
