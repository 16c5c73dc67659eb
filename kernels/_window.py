"""Sliding-window geometry shared by the conv and pooling kernels (cpu and cuda) and their ops.

Pure integer arithmetic, mirroring PyTorch's shape rules so every backend agrees on output sizes.
"""
from __future__ import annotations


def conv_out_size(size: int, k: int, stride: int, pad: int, dilation: int) -> int:
    """Output length of a convolution (or unfold) along one spatial axis."""
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


def pool_out_size(size: int, k: int, stride: int, pad: int, dilation: int,
                  ceil_mode: bool) -> int:
    """Output length of max/avg pooling; with ``ceil_mode`` the last window must start inside
    the input or its left padding (torch's ``pooling_output_shape``)."""
    span = size + 2 * pad - dilation * (k - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def adaptive_start(o: int, size: int, out: int) -> int:
    """First input index of adaptive-pooling window ``o`` (floor(o * size / out))."""
    return (o * size) // out


def adaptive_end(o: int, size: int, out: int) -> int:
    """One past the last input index of adaptive window ``o`` (ceil((o+1) * size / out))."""
    return -(-((o + 1) * size) // out)


def reach(out: int, k: int, stride: int, dilation: int) -> int:
    """Input extent (padding included) that ``out`` windows touch along one axis."""
    return (out - 1) * stride + dilation * (k - 1) + 1


# Conv and pooling kernels: the same names and signatures in ``conv_cpu``/``conv_cuda`` and
# ``pool_cpu``/``pool_cuda``, registered in both backends' kernel tables.
WINDOW_KERNELS = {
    "conv": ("conv2d_forward", "conv2d_backward_data", "conv2d_backward_weight"),
    "pool": ("max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
             "avg_pool2d_backward", "adaptive_avg_pool2d_forward",
             "adaptive_avg_pool2d_backward", "adaptive_max_pool2d_forward",
             "adaptive_max_pool2d_backward"),
}


def table_entries(device: str) -> dict:
    """Kernel-table entries ``name -> "module:function"`` for ``device`` ("cpu" or "cuda")."""
    return {name: f"gputensor.kernels.{family}_{device}:{name}"
            for family, names in WINDOW_KERNELS.items() for name in names}
