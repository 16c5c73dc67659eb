"""The implementations a benchmark can run on, found at run time.

gputensor and PyTorch expose the same API, so a case is written once against a library module
(``lib``) and a device; NumPy serves as the plain-CPU peer where a case has a NumPy form.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class Impl:
    name: str  # e.g. "gputensor/cuda (kernels)"
    lib_name: str  # "numpy" | "gputensor" | "torch"
    device: str  # "cpu" | "cuda"
    lib: object = field(repr=False, default=None)
    cublas: bool = False  # gputensor cuda with matmul routed to CuPy/cuBLAS

    def sync(self) -> None:
        if self.device == "cuda":
            self.lib.cuda.synchronize()

    def activate(self) -> None:
        """Select this implementation's kernel routing before its cases run."""
        if self.lib_name == "gputensor" and self.device == "cuda":
            from gputensor.backends import get_backend
            get_backend("cuda").use_cublas(self.cublas)


def discover(notes: list[str]) -> list[Impl]:
    """Every implementation usable here; explanations for missing ones are appended to ``notes``."""
    import numpy
    import gputensor
    impls = [Impl("numpy", "numpy", "cpu", numpy), Impl("gputensor/cpu", "gputensor", "cpu", gputensor)]
    try:
        import torch
        torch.set_num_threads(os.cpu_count() or 1)
        impls.append(Impl("torch/cpu", "torch", "cpu", torch))
    except ImportError:
        torch = None
        notes.append("PyTorch not installed: no torch rows (pip install torch to compare)")
    if gputensor.cuda.is_available():
        if gputensor.cuda.is_simulator():
            notes.append("NUMBA_ENABLE_CUDASIM=1: the cuda device is Numba's simulator; simulated "
                         "times mean nothing, so cuda is not timed")
        else:
            impls.append(Impl("gputensor/cuda (kernels)", "gputensor", "cuda", gputensor))
            impls.append(Impl("gputensor/cuda (cuBLAS)", "gputensor", "cuda", gputensor, cublas=True))
    else:
        notes.append("no GPU found (CuPy sees none): benchmarking cpu implementations only")
    if torch is not None and torch.cuda.is_available():
        impls.append(Impl("torch/cuda", "torch", "cuda", torch))
    return impls
