"""Conv1d / Conv2d: weight (out_channels, in_channels // groups, *kernel_size), torch's init."""
from __future__ import annotations

from ...ops import conv as C
from ...ops import conv3d as C3
from ...ops import conv_transpose as CT
from ...ops import conv_transpose3d as CT3
from ...ops import nn_functional as NF
from ...tensor import Tensor
from .linear import empty_parameter, reset_fan_in_uniform
from .module import Module

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value, n: int, name: str) -> tuple:
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
        return tuple(int(v) for v in value)
    return (int(value),) * n


class _ConvNd(Module):
    _dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None):
        super().__init__()
        n = self._dims
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in _ntuple(stride, n, "stride")):
                raise ValueError("padding='same' is not supported for strided convolutions")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size")
        self.stride = _ntuple(stride, n, "stride")
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n, "padding")
        self.dilation = _ntuple(dilation, n, "dilation")
        self.groups, self.padding_mode = groups, padding_mode
        self.weight = empty_parameter(out_channels, in_channels // groups, *self.kernel_size,
                                      device=device, dtype=dtype)
        if bias:
            self.bias = empty_parameter(out_channels, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_fan_in_uniform(self.weight, self.bias)

    def _conv(self, input, weight, bias, padding):
        raise NotImplementedError

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode == "zeros" or isinstance(self.padding, str):
            return self._conv(input, self.weight, self.bias, self.padding)
        amounts = tuple(p for p in reversed(self.padding) for _ in range(2))
        padded = NF.pad(input, amounts, mode=self.padding_mode)
        return self._conv(padded, self.weight, self.bias, 0)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        zeros = (0,) * self._dims
        if self.padding != zeros:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if getattr(self, "output_padding", zeros) != zeros:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    _dims = 1

    def _conv(self, input, weight, bias, padding):
        return C.conv1d(input, weight, bias, self.stride, padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    _dims = 2

    def _conv(self, input, weight, bias, padding):
        return C.conv2d(input, weight, bias, self.stride, padding, self.dilation, self.groups)


class Conv3d(_ConvNd):
    _dims = 3

    def _conv(self, input, weight, bias, padding):
        return C3.conv3d(input, weight, bias, self.stride, padding, self.dilation, self.groups)


class _ConvTransposeNd(_ConvNd):
    """Weight (in_channels, out_channels // groups, *kernel_size); ``forward(input,
    output_size)`` picks the output_padding that yields ``output_size`` (torch's rule)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f'{type(self).__name__}')
        if groups > 0 and in_channels % groups:  # torch's order of checks (super swaps them)
            raise ValueError("in_channels must be divisible by groups")
        if groups > 0 and out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        super().__init__(out_channels, in_channels, kernel_size, stride, padding, dilation,
                         groups, False, padding_mode, device, dtype)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.output_padding = _ntuple(output_padding, self._dims, "output_padding")
        if bias:
            self.bias = empty_parameter(out_channels, device=device, dtype=dtype)
        self._initialized = True
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.__dict__.get("_initialized"):  # once, with the bias (torch's RNG order)
            super().reset_parameters()

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        if output_size is None:
            return self.output_padding
        n = self._dims
        lead = 2 if input.ndim == n + 2 else 1
        output_size = [int(v) for v in output_size]
        if len(output_size) == lead + n:
            output_size = output_size[lead:]
        if len(output_size) != n:
            raise ValueError(f"ConvTranspose{n}D: for {input.ndim}D input, output_size must have "
                             f"{n} or {lead + n} elements (got {len(output_size)})")
        lo = [(input.shape[lead + d] - 1) * self.stride[d] - 2 * self.padding[d]
              + self.dilation[d] * (self.kernel_size[d] - 1) + 1 for d in range(n)]
        hi = [lo[d] + self.stride[d] - 1 for d in range(n)]
        if any(not lo[d] <= output_size[d] <= hi[d] for d in range(n)):
            raise ValueError(f"requested an output size of {output_size}, but valid sizes range "
                             f"from {lo} to {hi} (for an input of {input.shape[lead:]})")
        return tuple(output_size[d] - lo[d] for d in range(n))

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        op = self._output_padding(input, output_size)
        return self._transpose(input, op)


class ConvTranspose1d(_ConvTransposeNd):
    _dims = 1

    def _transpose(self, input, output_padding):
        return CT.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                   output_padding, self.groups, self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    _dims = 2

    def _transpose(self, input, output_padding):
        return CT.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                   output_padding, self.groups, self.dilation)


class ConvTranspose3d(_ConvTransposeNd):
    _dims = 3

    def _transpose(self, input, output_padding):
        return CT3.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding,
                                    output_padding, self.groups, self.dilation)


__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]

from ._alias import getattr_for as _getattr_for  # noqa: E402
__getattr__ = _getattr_for(__name__)  # torch names defined in other files (MultiheadAttention)
