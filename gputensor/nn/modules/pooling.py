"""MaxPool2d, AvgPool2d, adaptive pools."""
from __future__ import annotations

__all__: list[str] = []
