"""Indexing: getitem/setitem (basic, advanced, boolean), gather, scatter, index_select, masked ops, nonzero."""
from __future__ import annotations

__all__: list[str] = []
