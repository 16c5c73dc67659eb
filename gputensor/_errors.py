"""torch's error for operands that do not broadcast (NumPy and CuPy raise ValueError instead)."""
from __future__ import annotations


def broadcast_mismatch(*shapes) -> RuntimeError | None:
    """torch's RuntimeError for the first pair of sizes (right-aligned, scanned from the last
    dim, as ATen's ``infer_size``) that cannot broadcast; None when all shapes broadcast."""
    out: tuple = ()
    for s in shapes:
        s = tuple(s)
        n = max(len(out), len(s))
        a, b = (1,) * (n - len(out)) + out, (1,) * (n - len(s)) + s
        for i in range(n - 1, -1, -1):
            if a[i] != b[i] and a[i] != 1 and b[i] != 1:
                return RuntimeError(f"The size of tensor a ({a[i]}) must match the size of "
                                    f"tensor b ({b[i]}) at non-singleton dimension {i}")
        out = tuple(y if x == 1 else x for x, y in zip(a, b))
    return None


def check_broadcast(*shapes) -> None:
    err = broadcast_mismatch(*shapes)
    if err is not None:
        raise err


def translate(exc: Exception, args: tuple) -> Exception:
    """The exception to raise for ``exc`` raised by an op's forward on ``args``: NumPy's
    "operands could not be broadcast together with shapes" becomes torch's RuntimeError."""
    if isinstance(exc, ValueError) and str(exc).startswith(
            "operands could not be broadcast together with shapes"):
        err = broadcast_mismatch(*(a._data.shape for a in args if hasattr(a, "_data")))
        if err is not None:
            return err
    return exc
