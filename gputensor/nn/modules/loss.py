"""Loss modules (MSELoss, CrossEntropyLoss, ...)."""
from __future__ import annotations

__all__: list[str] = []
