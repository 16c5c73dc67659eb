"""``gputensor.layout``: how a tensor stores its elements (``strided`` or ``sparse_coo``)."""
from __future__ import annotations


class layout:
    """A storage layout; compared by identity, printed as torch prints its layouts."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"gputensor.{self.name}"

    def __reduce__(self):
        return self.name  # pickles as the module-level singleton of that name


strided = layout("strided")
sparse_coo = layout("sparse_coo")

__all__ = ["layout", "strided", "sparse_coo"]
