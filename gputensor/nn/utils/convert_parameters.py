"""Flatten parameters into one vector and back (e.g. for second-order or evolutionary methods)."""
from __future__ import annotations

from collections.abc import Iterable

from ...autograd.grad_mode import no_grad
from ...ops.join_split import cat
from ...tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated (differentiable, on their common device)."""
    params = list(parameters)
    _same_device(params)
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into each parameter, in place."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    _same_device(params + [vec])
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise RuntimeError(f"vector_to_parameters: expected a 1-D vector of {total} elements, "
                           f"got shape {tuple(vec.shape)}")
    offset = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p._assign(vec[offset:offset + n].reshape(tuple(p.shape)).to(p.dtype))
            offset += n


def _same_device(tensors: list) -> None:
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise TypeError(f"Found tensors on different devices: {sorted(map(str, devices))}")


__all__ = ["parameters_to_vector", "vector_to_parameters"]
