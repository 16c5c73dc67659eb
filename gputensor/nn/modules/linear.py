"""Linear, Identity, Bilinear (nice), Flatten, Unflatten."""
from __future__ import annotations

__all__: list[str] = []
