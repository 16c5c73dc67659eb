"""Utilities: ``gputensor.utils.data``."""
from . import data  # noqa: F401
