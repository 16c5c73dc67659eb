"""Host shared memory for tensors: ``Tensor.share_memory_()`` / ``Tensor.is_shared()``.

A shared tensor's array lies in a ``Segment``: a ``MAP_SHARED`` mapping of an anonymous memfd (an
unlinked /dev/shm file where memfd is missing). Forked children inherit the mapping; other
processes receive the fd (``gputensor.multiprocessing`` pickles it with ``DupFd``) and map the same
pages. Nothing is ever named in /dev/shm, so no segment outlives the last process that maps it:
the kernel frees the pages when the last fd and mapping go, even after a crash.
"""
from __future__ import annotations

import itertools
import mmap
import os
import tempfile

import numpy as np

_counter = itertools.count()


class Segment(mmap.mmap):
    """A shared mapping that keeps its fd (to hand on to other processes) until it dies.

    Arrays built on it hold it as their ``base``, so it lives exactly as long as they do."""

    fd: int
    address: int

    def __del__(self) -> None:
        fd, self.fd = getattr(self, "fd", -1), -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


def _anonymous_fd(nbytes: int) -> int:
    name = f"gputensor_{os.getpid()}_{next(_counter)}"
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create(name, getattr(os, "MFD_CLOEXEC", 0))
    else:  # no memfd: an unlinked file in RAM-backed /dev/shm when present
        fd, path = tempfile.mkstemp(prefix=name, dir="/dev/shm" if os.path.isdir("/dev/shm")
                                    else None)
        os.unlink(path)
    os.ftruncate(fd, nbytes)
    return fd


def open_segment(fd: int, nbytes: int) -> Segment:
    """Map ``nbytes`` of shared file ``fd`` (the segment takes ownership of the fd)."""
    seg = Segment(fd, max(nbytes, 1), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    seg.fd = fd
    probe = np.frombuffer(seg, np.uint8, count=1)
    seg.address = probe.ctypes.data
    del probe
    return seg


def new_segment(nbytes: int) -> Segment:
    return open_segment(_anonymous_fd(max(nbytes, 1)), nbytes)


def segment_of(arr) -> Segment | None:
    """The shared segment an array's memory lies in, or None."""
    base = arr
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):
        base = base.obj
    return base if isinstance(base, Segment) else None


def shared_empty(shape, dtype) -> np.ndarray:
    """An uninitialized C-contiguous array in a fresh shared segment."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return np.ndarray(tuple(shape), dtype, buffer=new_segment(n))


def shared_copy(arr: np.ndarray) -> np.ndarray:
    """A copy in a fresh segment, keeping the memory order of ``arr``'s dims (a transposed
    tensor stays transposed, as torch keeps strides when it moves a storage)."""
    order = sorted(range(arr.ndim), key=lambda d: -abs(arr.strides[d]))
    out = shared_empty([arr.shape[d] for d in order], arr.dtype).transpose(np.argsort(order))
    np.copyto(out, arr, casting="no")
    return out


def _cuda_error(what: str) -> RuntimeError:
    return RuntimeError(f"{what}: gputensor cannot share cuda tensors between processes (it has "
                        "no CUDA IPC); move the tensor to the cpu with .cpu() first")


def share_memory_(self):
    """Move this cpu tensor's data into shared memory (no-op if it is already there).

    As in torch, later in-place writes are seen by every process holding the tensor. Views made
    *before* the move keep the old private memory (gputensor arrays cannot be re-pointed)."""
    if self._device.type != "cpu":
        raise _cuda_error("share_memory_")
    if segment_of(self._data) is None:
        self._data = shared_copy(self._data)
    return self


def is_shared(self) -> bool:
    """True when the tensor's data lies in shared memory (see ``share_memory_``)."""
    if self._device.type != "cpu":
        return False
    return segment_of(self._data) is not None


__all__ = ["Segment", "new_segment", "open_segment", "segment_of", "shared_empty", "shared_copy",
           "share_memory_", "is_shared"]
