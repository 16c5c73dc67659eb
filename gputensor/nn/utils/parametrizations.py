"""``torch.nn.utils.parametrizations``: ready-made parametrizations (``weight_norm``)."""
from __future__ import annotations

from ..modules.module import Module
from . import parametrize
from .weight_norm import _WeightNorm


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """``module.<name>`` becomes ``g * v / ||v||`` with ``parametrizations.<name>.original0``
    (g) and ``original1`` (v) as parameters. (torch also loads checkpoints saved with the old
    ``<name>_g``/``<name>_v`` keys; gputensor's modules have no load_state_dict pre-hooks.)"""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


__all__ = ["weight_norm"]
