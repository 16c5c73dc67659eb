"""RNN, LSTM, GRU and their cells, torch's parameter names and gate order."""
from __future__ import annotations

__all__: list[str] = []
