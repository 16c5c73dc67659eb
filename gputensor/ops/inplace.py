"""In-place fills and random fills: zero_, fill_, copy_, uniform_, normal_ ..."""
from __future__ import annotations

__all__: list[str] = []
