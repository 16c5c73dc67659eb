"""Module: the base class of every layer (parameters, buffers, submodules, state_dict, hooks)."""
from __future__ import annotations

__all__: list[str] = []
