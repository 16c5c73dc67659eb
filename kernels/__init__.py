"""Hand-written kernels: pure array-in/array-out functions, no Tensor or autograd inside.

``*_cuda`` modules hold Numba ``@cuda.jit`` kernels with launchers (real GPU or the Numba CUDA
simulator); ``*_cpu`` modules hold the CPU counterparts. Imported as ``gputensor.kernels``.

Convention for every ``*_cuda.py`` module (the compile check ``python -m kernels.ptx_check`` and
the report ``python -m benchmarks.kernels --static`` discover modules by that file name and fail
on a module that breaks it):

``PTX_SIGNATURES``: a module-level list of ``(kernel, signature, name, threads_per_block)``
tuples, one per shipped kernel specialization. ``kernel`` is the ``@cuda.jit`` dispatcher,
``signature`` a Numba signature string exactly as the launcher calls it (Python ints arrive as
``int64``, contiguous arrays as ``float32[::1]`` / ``float32[:, ::1]``, others as
``float32[:, :]``), ``name`` a short label for reports (e.g. ``"matmul_f32_128x128"``) and
``threads_per_block`` the block size the launcher uses (for the occupancy figure). Each entry is
compiled with ``cuda.compile_ptx`` for sm_80 and sm_90 and assembled with ``ptxas -v``; any
compile error or register spill fails the check.

Launchers must accept NumPy arrays (simulator) and CuPy arrays (GPU) alike: take the array module
from ``_launch.array_module`` and never hand the simulator a read-only or broadcast array (it
copies every argument back). ``_launch`` also has the grid arithmetic (``cdiv``).
"""
