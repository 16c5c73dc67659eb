"""Elementwise math beyond arithmetic: unary functions, comparisons, logical ops, clamp, where, maximum/minimum."""
from __future__ import annotations

__all__: list[str] = []
