"""Hand-written kernels: pure array-in/array-out functions, no Tensor or autograd inside.

``*_cuda`` modules hold Numba ``@cuda.jit`` kernels with launchers (real GPU or the Numba CUDA
simulator); ``*_cpu`` modules hold the CPU counterparts. Imported as ``gputensor.kernels``.
"""
