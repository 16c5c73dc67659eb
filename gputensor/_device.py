"""``gputensor.device``: where a tensor's storage lives ("cpu" or "cuda[:N]")."""
from __future__ import annotations


class AcceleratorError(RuntimeError):
    """torch.AcceleratorError: an error reported by the accelerator's runtime (e.g. an invalid
    device ordinal)."""


class device:
    """``device("cuda:0")``, ``device("cuda", 0)``, ``device(0)``, ``device("cpu")``."""

    __slots__ = ("type", "index")

    def __init__(self, type_or_str, index: int | None = None):
        if isinstance(type_or_str, device):
            self.type, self.index = type_or_str.type, type_or_str.index
            return
        if isinstance(type_or_str, int) and not isinstance(type_or_str, bool):
            if type_or_str < 0:
                raise RuntimeError("Device index must not be negative")
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
        _default[0] = _as_default(self)
        return self

    def __exit__(self, *exc) -> None:
        _default[0] = _stack.pop()


CPU = device("cpu")
CUDA0 = device("cuda", 0)
_CUDA = {0: CUDA0}  # one device object per index, so identity compares fast


_default = [CPU]  # the device factory functions use when given device=None
_stack: list = []  # defaults saved by ``with device(...)`` blocks


def set_default_device(d) -> None:
    """Make factory functions (zeros, tensor, rand, layers' parameters ...) place tensors on
    ``d`` when they get no ``device=`` (``None`` restores cpu)."""
    _default[0] = CPU if d is None else _as_default(d)


def get_default_device() -> device:
    """The default device with its index ("cuda" is reported as the current cuda device)."""
    return canonical(None)


def _as_default(d) -> device:
    """A default device keeps "cuda" without an index: it means the current device at each
    factory call, as in torch."""
    d = d if isinstance(d, device) else device(d)
    return CPU if d.type == "cpu" else (d if d.index is None else canonical(d))


def cuda_device(index: int) -> device:
    d = _CUDA.get(index)
    if d is None:
        d = _CUDA[index] = device("cuda", index)
    return d


def canonical(d) -> device:
    """A concrete device: "cuda" means the current cuda device (``cuda.set_device``); an index
    past the last device raises torch's "invalid device ordinal". ``None`` is the default device
    (cpu unless ``set_default_device`` or ``with device(...)`` says so)."""
    if d is None:
        d = _default[0]
        if d is CPU:
            return CPU
    elif isinstance(d, int) and not isinstance(d, bool):
        d = device(d)
    elif not isinstance(d, device):
        d = device(d)
    if d.type == "cpu":
        return CPU
    from .backends import cuda_available, get_backend  # late: backends sit below this module
    if not cuda_available():  # get_backend raises "CUDA is not available" where it is used
        return CUDA0 if d.index in (None, 0) else cuda_device(d.index)
    b = get_backend("cuda")
    return cuda_device(b.current_device() if d.index is None else b.check_index(d.index))
