"""``DataParallel``: split each input batch across the visible accelerators, run one replica
of the module per device, gather the outputs.

As in torch: with no accelerator it is a transparent wrapper (``module.`` state_dict keys,
forward delegates, ``device_ids == []``); with one device the module is moved there and its
inputs are moved there before each call (nothing to split); with several, the batch is chunked
over ``device_ids``, the module (which must live on ``device_ids[0]``) is replicated with
differentiable parameter copies, the replicas run in one thread per device and the outputs are
concatenated on ``output_device``, so ``backward`` sums every replica's gradients into the
original parameters.
"""
from __future__ import annotations

from itertools import chain
from typing import Any, Sequence

from ..._device import device as _Device
from ..modules.module import Module
from .parallel_apply import parallel_apply
from .replicate import replicate
from .scatter_gather import _device_index, gather, scatter_kwargs


def _cuda():
    from ... import cuda  # the public face, imported late: nn sits below it
    return cuda


def _check_devices(device_ids: list[int]) -> None:
    count = _cuda().device_count()
    for i in device_ids:
        if not 0 <= i < count:
            raise AssertionError("Invalid device id")


class DataParallel(Module):
    """torch.nn.DataParallel(module, device_ids=None, output_device=None, dim=0)."""

    def __init__(self, module: Module, device_ids: Sequence | None = None,
                 output_device=None, dim: int = 0) -> None:
        super().__init__()
        if not _cuda().is_available():
            self.module = module
            self.device_ids = []
            return
        if device_ids is None:
            device_ids = list(range(_cuda().device_count()))
        if output_device is None:
            output_device = device_ids[0]
        self.dim = dim
        self.module = module
        self.device_ids = [_device_index(x) for x in device_ids]
        self.output_device = _device_index(output_device)
        _check_devices(self.device_ids)
        self.src_device_obj = _Device("cuda", self.device_ids[0])
        if len(self.device_ids) == 1:
            self.module.to(self.src_device_obj)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        for t in chain(self.module.parameters(), self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError("module must have its parameters and buffers on device "
                                   f"{self.src_device_obj} (device_ids[0]) but found one of "
                                   f"them on device: {t.device}")
        inputs, module_kwargs = self.scatter(inputs, kwargs, self.device_ids)
        if not inputs and not module_kwargs:
            inputs, module_kwargs = ((),), ({},)
        if len(self.device_ids) == 1:
            return self.module(*inputs[0], **module_kwargs[0])
        replicas = self.replicate(self.module, self.device_ids[:len(inputs)])
        outputs = self.parallel_apply(replicas, inputs, module_kwargs)
        return self.gather(outputs, self.output_device)

    def replicate(self, module: Module, device_ids: Sequence) -> list:
        return replicate(module, device_ids)

    def scatter(self, inputs: tuple, kwargs: dict | None, device_ids: Sequence):
        return scatter_kwargs(inputs, kwargs, device_ids, dim=self.dim)

    def parallel_apply(self, replicas: Sequence, inputs: Sequence, kwargs) -> list:
        return parallel_apply(replicas, inputs, kwargs, self.device_ids[:len(replicas)])

    def gather(self, outputs, output_device):
        return gather(outputs, output_device, dim=self.dim)


def data_parallel(module: Module, inputs, device_ids: Sequence | None = None,
                  output_device=None, dim: int = 0, module_kwargs: dict | None = None):
    """The functional form of DataParallel: evaluate ``module(input)`` across ``device_ids``."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    if not _cuda().is_available():
        return module(*inputs, **(module_kwargs or {}))
    if device_ids is None:
        device_ids = list(range(_cuda().device_count()))
    if output_device is None:
        output_device = device_ids[0]
    device_ids = [_device_index(x) for x in device_ids]
    output_device = _device_index(output_device)
    _check_devices(device_ids)
    src = _Device("cuda", device_ids[0])
    for t in chain(module.parameters(), module.buffers()):
        if t.device != src:
            raise RuntimeError("module must have its parameters and buffers on device "
                               f"{src} (device_ids[0]) but found one of them on device: "
                               f"{t.device}")
    inputs, module_kwargs = scatter_kwargs(inputs, module_kwargs, device_ids, dim)
    if not inputs and not module_kwargs:
        inputs, module_kwargs = ((),), ({},)
    if len(device_ids) == 1:
        return module(*inputs[0], **module_kwargs[0])
    used = device_ids[:len(inputs)]
    replicas = replicate(module, used)
    outputs = parallel_apply(replicas, inputs, module_kwargs, used)
    return gather(outputs, output_device, dim)
