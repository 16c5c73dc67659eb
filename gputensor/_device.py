"""``gputensor.device``: where a tensor's storage lives ("cpu" or "cuda[:N]")."""
from __future__ import annotations


class device:
    """``device("cuda:0")``, ``device("cuda", 0)``, ``device(0)``, ``device("cpu")``."""

    __slots__ = ("type", "index")

    def __init__(self, type_or_str, index: int | None = None):
        if isinstance(type_or_str, device):
            self.type, self.index = type_or_str.type, type_or_str.index
            return
        if isinstance(type_or_str, int) and not isinstance(type_or_str, bool):
            self.type, self.index = "cuda", type_or_str  # torch.device(0) is cuda:0
            return
        s = str(type_or_str)
        if ":" in s:
            if index is not None:
                raise ValueError(f"device string {s!r} already has an index")
            s, idx = s.split(":", 1)
            if not idx.isdigit():
                raise ValueError(f"invalid device string {type_or_str!r}")
            index = int(idx)
        if s not in ("cpu", "cuda"):
            raise ValueError(f"unknown device type {s!r}: expected 'cpu' or 'cuda'")
        if s == "cpu" and index not in (None, 0):
            raise ValueError(f"cpu device has no index {index}")
        self.type, self.index = s, index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except ValueError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __enter__(self) -> "device":
        """``with gputensor.device("cuda"):`` makes factory calls without ``device=`` use it."""
        _stack.append(_default[0])
        _default[0] = canonical(self)
        return self

    def __exit__(self, *exc) -> None:
        _default[0] = _stack.pop()


CPU = device("cpu")
CUDA0 = device("cuda", 0)


_default = [CPU]  # the device factory functions use when given device=None
_stack: list = []  # defaults saved by ``with device(...)`` blocks


def set_default_device(d) -> None:
    """Make factory functions (zeros, tensor, rand, layers' parameters ...) place tensors on
    ``d`` when they get no ``device=`` (``None`` restores cpu)."""
    _default[0] = CPU if d is None else canonical(d)


def get_default_device() -> device:
    return _default[0]


def canonical(d) -> device:
    """A concrete device: "cuda" means cuda:0 (the only device gputensor drives); ``None`` is
    the default device (cpu unless ``set_default_device`` or ``with device(...)`` says so)."""
    if d is None:
        return _default[0]
    if isinstance(d, int):
        d = device("cuda", d)
    d = d if isinstance(d, device) else device(d)
    if d.type == "cpu":
        return CPU
    if d.index not in (None, 0):
        raise RuntimeError(f"gputensor drives one GPU (cuda:0); got {d}")
    return CUDA0
