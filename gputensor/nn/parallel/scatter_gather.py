"""``scatter``/``gather``: split inputs across devices along ``dim`` and join outputs back.

torch's rules: tensors are chunked (differentiably: each chunk's copy to its device sends its
gradient back to the input's device), lists, tuples and dicts are scattered element-wise, other
objects are repeated per device; gather concatenates on the target device, differentiably.
"""
from __future__ import annotations

import warnings

from ..._device import device as _Device
from ...tensor import Tensor


def _device_index(d, optional: bool = True) -> int | None:
    """torch's ``_get_device_index``: ``0``, ``'cuda:0'`` or ``device('cuda', 0)`` -> 0."""
    if isinstance(d, int):
        return d
    if isinstance(d, str):
        d = _Device(d)
    if isinstance(d, _Device):
        if d.type == "cpu":
            return -1
        if d.index is None:  # "cuda": the current device
            from ... import cuda
            return cuda.current_device()
        return d.index
    if d is None and optional:
        return None
    raise ValueError(f"Expected a torch.device with a specified index or an integer, but got:{d}")


def _target(index) -> _Device:
    index = _device_index(index)
    return _Device("cpu") if index is None or index < 0 else _Device("cuda", index)


def scatter(inputs, target_gpus, dim: int = 0):
    """Slice tensors in ``inputs`` into ``len(target_gpus)`` chunks along ``dim``, one per
    device; returns a list with one structure like ``inputs`` per device."""
    def scatter_map(obj):
        if isinstance(obj, Tensor):
            chunks = obj.chunk(len(target_gpus), dim) if len(target_gpus) > 1 else (obj,)
            return [c.to(_target(g)) for c, g in zip(chunks, target_gpus)]
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
            return [type(obj)(*args) for args in zip(*map(scatter_map, obj))]
        if isinstance(obj, tuple) and obj:
            return list(zip(*map(scatter_map, obj)))
        if isinstance(obj, list) and obj:
            return [list(i) for i in zip(*map(scatter_map, obj))]
        if isinstance(obj, dict) and obj:
            return [type(obj)(i) for i in zip(*map(scatter_map, obj.items()))]
        return [obj for _ in target_gpus]

    return scatter_map(inputs)


def scatter_kwargs(inputs: tuple, kwargs: dict | None, target_gpus, dim: int = 0):
    """Scatter positional and keyword inputs; both lists padded to the same length."""
    scattered = scatter(inputs, target_gpus, dim) if inputs else []
    kw = scatter(kwargs, target_gpus, dim) if kwargs else []
    if len(scattered) < len(kw):
        scattered.extend(() for _ in range(len(kw) - len(scattered)))
    elif len(kw) < len(scattered):
        kw.extend({} for _ in range(len(scattered) - len(kw)))
    return tuple(scattered), tuple(kw)


def gather(outputs, target_device, dim: int = 0):
    """Concatenate per-device outputs along ``dim`` on ``target_device`` (-1 or 'cpu': cpu)."""
    dev = _target(target_device)

    def gather_map(outs):
        out = outs[0]
        if isinstance(out, Tensor):
            from ...ops.join_split import cat
            parts = [o.to(dev) for o in outs]
            if all(p.dim() == 0 for p in parts):
                warnings.warn("Was asked to gather along dimension 0, but all input tensors "
                              "were scalars; will instead unsqueeze and return a vector.",
                              UserWarning, stacklevel=2)
                parts = [p.reshape(1) for p in parts]
            return parts[0] if len(parts) == 1 else cat(parts, dim)
        if out is None:
            return None
        if isinstance(out, dict):
            if not all(len(out) == len(d) for d in outs):
                raise ValueError("All dicts must have the same number of keys")
            return type(out)((k, gather_map([d[k] for d in outs])) for k in out)
        if isinstance(out, tuple) and hasattr(out, "_fields"):
            return type(out)(*map(gather_map, zip(*outs)))
        return type(out)(map(gather_map, zip(*outs)))

    return gather_map(outputs)
