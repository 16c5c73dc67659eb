"""Pooling (max/avg/adaptive) over the backend's pooling kernels."""
from __future__ import annotations

__all__: list[str] = []
