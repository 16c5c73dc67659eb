"""Activations and softmax family used by nn (softmax, log_softmax, gelu, silu, elu, ...)."""
from __future__ import annotations

__all__: list[str] = []
