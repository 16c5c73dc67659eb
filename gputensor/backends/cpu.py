"""The cpu backend: NumPy arrays, BLAS matmul, im2col/strided-view kernels from ``kernels``."""
from __future__ import annotations

import numpy as np

from ..kernels._window import table_entries as window_table_entries
from .base import Backend, KernelTable

CPU_KERNELS = {
    "matmul": "numpy:matmul",
}
CPU_KERNELS.update(window_table_entries("cpu"))  # conv and pooling


class CPUBackend(Backend):
    name = "cpu"
    xp = np

    def __init__(self):
        super().__init__()
        self.kernels = KernelTable(CPU_KERNELS)

    def from_numpy(self, a):
        return np.array(a, copy=True)

    def to_numpy(self, a):
        return a
