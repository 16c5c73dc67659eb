"""Convolutions (conv1d, conv2d, unfold/fold) over the backend's conv kernels."""
from __future__ import annotations

__all__: list[str] = []
