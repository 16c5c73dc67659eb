"""Loss functions (functional forms of nn losses)."""
from __future__ import annotations

__all__: list[str] = []
