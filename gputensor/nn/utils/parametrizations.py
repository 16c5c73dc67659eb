"""``torch.nn.utils.parametrizations``: ready-made parametrizations (``weight_norm``,
``spectral_norm``)."""
from __future__ import annotations

from ...tensor import Tensor
from ..modules.module import Module
from . import parametrize
from .spectral_norm import _SpectralNorm, _default_dim
from .weight_norm import _WeightNorm


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """``module.<name>`` becomes ``g * v / ||v||`` with ``parametrizations.<name>.original0``
    (g) and ``original1`` (v) as parameters. (torch also loads checkpoints saved with the old
    ``<name>_g``/``<name>_v`` keys; gputensor's modules have no load_state_dict pre-hooks.)"""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """``module.<name>`` becomes ``W / sigma(W)``, sigma by power iteration (buffers ``_u``,
    ``_v`` in the parametrization)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations,
                                    _default_dim(module) if dim is None else dim, eps))
    return module


__all__ = ["weight_norm", "spectral_norm"]
