"""``torch.memory_format`` values (``contiguous_format channels_last channels_last_3d
preserve_format``). gputensor keeps every tensor in its row-major layout: layout requests
(``.to(memory_format=...)``, ``contiguous(memory_format=...)``) are accepted and change nothing,
and ``is_contiguous(memory_format=...)`` reports the layout the tensor really has."""
from __future__ import annotations


class memory_format:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"gputensor.{self._name}"

    def __reduce__(self):
        return self._name


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")

# the dim order whose row-major layout each channels-last format means, by tensor rank
_ORDER = {channels_last: (4, (0, 2, 3, 1)), channels_last_3d: (5, (0, 2, 3, 4, 1))}


def is_contiguous_as(array, fmt) -> bool:
    """Whether ``array`` (NumPy/CuPy) is laid out densely in ``fmt``'s order."""
    if fmt is None or fmt is contiguous_format or fmt is preserve_format:
        return bool(array.flags.c_contiguous)
    ndim, order = _ORDER[fmt]
    return array.ndim == ndim and bool(array.transpose(order).flags.c_contiguous)


__all__ = ["memory_format", "contiguous_format", "channels_last", "channels_last_3d",
           "preserve_format"]
