"""Lazy modules: layers whose input size is inferred on the first forward pass.

``LazyModuleMixin`` holds ``UninitializedParameter``/``UninitializedBuffer`` placeholders; a
forward pre-hook calls ``initialize_parameters(input)``, which materializes them in place (so an
optimizer built earlier holds the real parameters), resets them with the layer's own
initialization, and then turns the module into ``cls_to_become`` (``LazyLinear`` -> ``Linear``).
Loading a state_dict materializes the placeholders too (see ``Module.load_state_dict``).
"""
from __future__ import annotations

import itertools

from ... import _dtype as dt
from ..._device import canonical
from ...autograd.grad_mode import no_grad
from ...ops import creation
from ...tensor import Tensor
from ..parameter_lazy import UninitializedBuffer, UninitializedParameter, is_lazy
from . import conv as _conv
from ._alias import getattr_for
from .instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .linear import Linear
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d


class LazyModuleMixin:
    """Mixin for modules whose parameters are materialized by their first ``forward``."""

    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters)

    def has_uninitialized_params(self) -> bool:
        """Whether any parameter or buffer is still a placeholder."""
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(),
                                                       self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs) -> None:
        raise NotImplementedError(f"initialize_parameters is not implemented for "
                                  f"{self.__class__.__name__}")


def _infer_parameters(module, args):
    module.initialize_parameters(*args)
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {module._get_name()} has not been fully initialized")
    module._initialize_hook.remove()
    del module.__dict__["_initialize_hook"]
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become


def _factory(device, dtype) -> dict:
    return {"device": device, "dtype": dtype}


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` with ``in_features`` inferred from ``input.shape[-1]``."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(**_factory(device, dtype))
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(**_factory(device, dtype))

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args) -> None:
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()


class _LazyConvXdMixin(LazyModuleMixin):
    def _lazy_init(self, out_channels: int, bias: bool, device, dtype) -> None:
        self.weight = UninitializedParameter(**_factory(device, dtype))
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(**_factory(device, dtype))

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def _get_in_channels(self, input: Tensor) -> int:
        no_batch = self._dims + 1
        if input.ndim not in (no_batch, no_batch + 1):
            raise RuntimeError(f"Expected {no_batch}D (unbatched) or {no_batch + 1}D (batched) "
                               f"input to {self.__class__.__name__}, but got input of size: "
                               f"{input.shape}")
        return input.shape[1] if input.ndim == no_batch + 1 else input.shape[0]

    def initialize_parameters(self, input: Tensor, *args) -> None:
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups:
                raise ValueError("in_channels must be divisible by groups")
            if isinstance(self, _conv._ConvTransposeNd):
                shape = (self.in_channels, self.out_channels // self.groups)
            else:
                shape = (self.out_channels, self.in_channels // self.groups)
            with no_grad():
                self.weight.materialize(shape + tuple(self.kernel_size))
                if self.bias is not None:
                    self.bias.materialize((self.out_channels,))
                self.reset_parameters()


def _lazy_conv(base):
    class LazyConv(_LazyConvXdMixin, base):
        cls_to_become = base

        def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                     groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                     device=None, dtype=None):
            super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False,
                             padding_mode, device, dtype)
            self._lazy_init(out_channels, bias, device, dtype)

    LazyConv.__name__ = LazyConv.__qualname__ = "Lazy" + base.__name__
    LazyConv.__doc__ = f"``{base.__name__}`` with ``in_channels`` inferred from the input."
    return LazyConv


def _lazy_conv_transpose(base):
    class LazyConvTranspose(_LazyConvXdMixin, base):
        cls_to_become = base

        def __init__(self, out_channels: int, kernel_size, stride=1, padding=0,
                     output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                     padding_mode: str = "zeros", device=None, dtype=None):
            super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False,
                             dilation, padding_mode, device, dtype)
            self._lazy_init(out_channels, bias, device, dtype)

    LazyConvTranspose.__name__ = LazyConvTranspose.__qualname__ = "Lazy" + base.__name__
    LazyConvTranspose.__doc__ = f"``{base.__name__}`` with ``in_channels`` inferred from the input."
    return LazyConvTranspose


LazyConv1d = _lazy_conv(_conv.Conv1d)
LazyConv2d = _lazy_conv(_conv.Conv2d)
LazyConv3d = _lazy_conv(_conv.Conv3d)
LazyConvTranspose1d = _lazy_conv_transpose(_conv.ConvTranspose1d)
LazyConvTranspose2d = _lazy_conv_transpose(_conv.ConvTranspose2d)
_lazy_names = ["LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
               "LazyConvTranspose2d"]
if hasattr(_conv, "ConvTranspose3d"):
    LazyConvTranspose3d = _lazy_conv_transpose(_conv.ConvTranspose3d)
    _lazy_names.append("LazyConvTranspose3d")


class _LazyNormBase(LazyModuleMixin):
    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *,
                 bias: bool = True):
        super().__init__(0, eps, momentum, False, False, device, dtype)
        self.affine, self.track_running_stats = affine, track_running_stats
        f = _factory(device, dtype)
        if affine:
            self.weight = UninitializedParameter(**f)
            if bias:
                self.bias = UninitializedParameter(**f)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(**f)
            self.running_var = UninitializedBuffer(**f)
            self.num_batches_tracked = creation.zeros((), dtype=dt.int64,
                                                      device=canonical(device))

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args) -> None:
        if self.has_uninitialized_params():
            self.num_features = input.shape[1]
            with no_grad():
                for t in (self.weight, self.bias, self.running_mean, self.running_var):
                    if t is not None and is_lazy(t):
                        t.materialize((self.num_features,))
                self.reset_parameters()


def _lazy_norm(base):
    cls = type("Lazy" + base.__name__, (_LazyNormBase, base),
               {"cls_to_become": base, "__module__": __name__,
                "__doc__": f"``{base.__name__}`` with ``num_features`` inferred from the input."})
    return cls


LazyBatchNorm1d = _lazy_norm(BatchNorm1d)
LazyBatchNorm2d = _lazy_norm(BatchNorm2d)
LazyBatchNorm3d = _lazy_norm(BatchNorm3d)
LazyInstanceNorm1d = _lazy_norm(InstanceNorm1d)
LazyInstanceNorm2d = _lazy_norm(InstanceNorm2d)
LazyInstanceNorm3d = _lazy_norm(InstanceNorm3d)


__all__ = ["LazyModuleMixin", "LazyLinear", "LazyBatchNorm1d", "LazyBatchNorm2d",
           "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d"] + _lazy_names

__getattr__ = getattr_for(__name__)
