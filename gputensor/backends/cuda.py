"""The cuda backend: CuPy arrays on a real GPU, or NumPy storage under Numba's CUDA simulator.

Mode is decided once, at first use: ``NUMBA_ENABLE_CUDASIM=1`` selects the simulator (kernels run
on the CPU with real thread blocks); otherwise CuPy with a visible GPU selects the real device.
Elementwise math goes through ``xp``; matmul, conv and pooling go through the hand-written Numba
kernels in ``kernels`` (set ``GPUTENSOR_MATMUL=cublas`` or call ``use_cublas()`` to route matmul
to CuPy/cuBLAS instead, the reference the benchmarks compare against).

Several devices: every GPU CuPy sees is ``cuda:i``; the simulator exposes one unless
``GPUTENSOR_SIM_DEVICES=N`` says otherwise (read when the backend is created). The current device
is per thread, as CUDA's is: CuPy's (``cudaSetDevice``) on a GPU, a thread-local index under the
simulator, where device i is only a label on NumPy arrays but all bookkeeping is real.
"""
from __future__ import annotations

import operator
import os
import threading
from contextlib import contextmanager

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


def _sim_device_count() -> int:
    raw = os.environ.get("GPUTENSOR_SIM_DEVICES", "").strip() or "1"
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"GPUTENSOR_SIM_DEVICES must be a positive integer, got {raw!r}")
    return n


def invalid_ordinal(index) -> RuntimeError:
    """torch's error for a device index past the last device (``torch.AcceleratorError``)."""
    from .._device import AcceleratorError
    return AcceleratorError(
        "CUDA error: invalid device ordinal\n"
        f"(device index {index}; the visible cuda devices are cuda:0 .. cuda:{_count() - 1})")


def _count() -> int:
    from . import _backends
    b = _backends.get("cuda")
    return b.count if b is not None else 1


class _SimCurrent(threading.local):
    index = 0  # a new thread starts on device 0, as with CUDA


class CUDABackend(Backend):
    name = "cuda"

    def __init__(self):
        self._rngs: dict = {}
        self._seeds: dict = {}
        if simulator_enabled():
            self.mode = "simulator"
            self.xp = np
            self.count = _sim_device_count()
            self._sim = _SimCurrent()
        else:
            cupy = _probe_cupy()
            if cupy is None:
                raise RuntimeError(
                    "CUDA is not available: no GPU visible to CuPy (install gputensor[cuda12] or "
                    "[cuda13] on a GPU machine), and NUMBA_ENABLE_CUDASIM=1 is not set")
            self.mode = "gpu"
            self.xp = cupy
            self.count = int(cupy.cuda.runtime.getDeviceCount())
        super().__init__()
        self.kernels = KernelTable(CUDA_KERNELS)
        if os.environ.get("GPUTENSOR_MATMUL", "").lower() == "cublas":
            self.use_cublas(True)

    def use_cublas(self, on: bool = True) -> None:
        """Route matmul to ``xp.matmul`` (cuBLAS on a GPU) instead of the hand-written kernel."""
        self.kernels.override("matmul", f"{self.xp.__name__}:matmul" if on else CUDA_KERNELS["matmul"])

    # -- devices -------------------------------------------------------------------------------
    def check_index(self, index: int) -> int:
        """``index`` as an int, or torch's "invalid device ordinal" past the last device."""
        try:
            index = operator.index(index)
        except TypeError:
            raise TypeError(f"device index must be an int, got {type(index).__name__}") from None
        if not 0 <= index < self.count:
            raise invalid_ordinal(index)
        return index

    def current_device(self) -> int:
        if self.mode == "simulator":
            return self._sim.index
        return int(self.xp.cuda.runtime.getDevice())

    def set_device(self, index: int) -> None:
        self.check_index(index)
        if self.mode == "simulator":
            self._sim.index = index
        else:
            self.xp.cuda.runtime.setDevice(index)

    def enter_device(self, index: int):
        """Make ``index`` current; returns the device to restore, or None if it already was."""
        cur = self.current_device()
        if cur == index:
            return None
        self.set_device(index)
        return cur

    @contextmanager
    def device_guard(self, index: int | None):
        """``with backend.device_guard(i):`` runs its body with device i current."""
        prev = None if index is None else self.enter_device(index)
        try:
            yield
        finally:
            if prev is not None:
                self.set_device(prev)

    # -- host and peer transfer -----------------------------------------------------------------
    def from_numpy(self, a, index: int | None = None):
        """Copy a host array onto device ``index`` (the current device when None)."""
        a = np.asarray(a, order="C")  # ascontiguousarray would turn 0-d into 1-d
        if self.mode == "simulator":
            return np.array(a, copy=True)
        with self.device_guard(index):
            return self.xp.asarray(a)

    def to_numpy(self, a):
        return np.array(a, copy=True) if self.mode == "simulator" else self.xp.asnumpy(a)

    def copy_to(self, a, index: int):
        """A copy of device array ``a`` on device ``index`` (a peer copy between GPUs)."""
        if self.mode == "simulator":
            return a.copy()
        with self.device_guard(index):
            return self.xp.array(a, copy=True)

    def synchronize(self, index: int | None = None) -> None:
        if self.mode == "gpu":
            with self.device_guard(index):
                self.xp.cuda.Device().synchronize()

    # -- one generator per device, as torch's cuda generators ---------------------------------
    @property
    def rng(self):
        i = self.current_device()
        r = self._rngs.get(i)
        if r is None:
            seed = self._seeds.get(i, self._seed)
            self._seeds[i] = seed
            r = self._rngs[i] = self._new_rng(seed)
        return r

    @rng.setter
    def rng(self, value) -> None:
        self._rngs[self.current_device()] = value

    def manual_seed(self, seed: int, index: int | None = None) -> None:
        """Seed device ``index``'s generator, or every device's when None."""
        if index is None:
            self._seed = int(seed)
            self._rngs.clear()
            self._seeds.clear()
            return
        with self.device_guard(index):
            self._seeds[index] = int(seed)
            self._rngs[index] = self._new_rng(int(seed))

    def initial_seed(self) -> int:
        return self._seeds.get(self.current_device(), self._seed)

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
