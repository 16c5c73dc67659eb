"""Tensor creation: from data, filled, ranges and random (``device=`` on every one)."""
from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from .._device import canonical
from .._generator import Generator
from ..backends import device_guard, get_backend, seed_all
from ..backends.base import HOST_RANDOM
from ..tensor import Tensor, tensor_method
from .scalar_range import check_array_fits, check_fill, check_int64_data


def _size(size, kw=None, name: str = "zeros") -> tuple:
    """The shape from ``*size`` positional ints / one sequence, or from the ``size=`` keyword."""
    if kw is not None:
        if size:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        if not isinstance(kw, (tuple, list)):
            raise TypeError(f"{name}(): argument 'size' must be tuple of ints, not "
                            f"{type(kw).__name__}")
        size = (kw,)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    out = tuple(int(s) for s in size)
    if any(s < 0 for s in out):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(out)}")
    return out


def _finish(arr, device, requires_grad: bool) -> Tensor:
    t = Tensor._make(arr, device)
    if requires_grad:
        t.requires_grad = True
    return t


def _infer_dtype(arr: np.ndarray, data) -> dt.dtype:
    if isinstance(data, (np.ndarray, np.generic)):
        return dt.from_numpy_dtype(arr.dtype)
    kind = arr.dtype.kind
    if kind == "f":
        return dt.get_default_dtype()
    if kind in "iu":
        return dt.int64
    if kind == "b":
        return dt.bool_
    raise TypeError(f"tensor(): could not infer dtype of {type(data).__name__} data "
                    f"(numpy dtype {arr.dtype})")


def tensor(data, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor copying ``data`` (nested lists, scalars, NumPy arrays or tensors)."""
    if isinstance(data, Tensor):
        out = data.detach().to(device=device or data.device, dtype=dtype, copy=True)
        return out.requires_grad_(requires_grad) if requires_grad else out
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat_first(data)):
        data = _tensors_to_lists(data)
    arr = np.asarray(data)
    target = dt.to_dtype(dtype) if dtype is not None else None
    check_int64_data(data, arr, target)
    d = target or _infer_dtype(arr, data)
    if target is not None and not isinstance(data, (np.ndarray, np.generic)):
        check_array_fits(arr, d)
    with np.errstate(invalid="ignore", over="ignore"):
        arr = np.array(arr, dtype=d.np, copy=True)
    dev = canonical(device)
    if dev.type != "cpu":
        arr = get_backend(dev.type).from_numpy(arr, dev.index)
    return _finish(arr, dev, requires_grad)


def _flat_first(seq):
    while isinstance(seq, (list, tuple)) and seq:
        yield seq[0]
        seq = seq[0]


def _tensors_to_lists(x):
    if isinstance(x, Tensor):
        return x.tolist()
    if isinstance(x, (list, tuple)):
        return [_tensors_to_lists(v) for v in x]
    return x


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory when ``data`` is already a fitting array or tensor."""
    if isinstance(data, Tensor):
        return data.to(device=device or data.device, dtype=dtype)
    dev = canonical(device)
    if isinstance(data, np.ndarray) and dev.type == "cpu" and (
            dtype is None or dt.to_dtype(dtype).np == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A cpu tensor sharing memory with ``ndarray``."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    dt.from_numpy_dtype(ndarray.dtype)
    return Tensor._make(ndarray, canonical("cpu"))


def _filled(fill, size, dtype, device, requires_grad, default=None, kw=None,
            name="zeros") -> Tensor:
    dev = canonical(device)
    d = dt.to_dtype(dtype) if dtype is not None else (default or dt.get_default_dtype())
    xp = get_backend(dev.type).xp
    check_fill(fill, d)
    with device_guard(dev):
        arr = xp.full(_size(size, kw, name), fill, dtype=d.np)
    return _finish(arr, dev, requires_grad)


def zeros(*args, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    return _filled(0, args, dtype, device, requires_grad, kw=size)


def ones(*args, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(1, args, dtype, device, requires_grad, kw=size, name="ones")


def empty(*args, size=None, dtype=None, device=None, requires_grad: bool = False,
          pin_memory: bool = False, memory_format=None) -> Tensor:
    """Zero-filled here (torch leaves it uninitialized; zeros are one valid choice)."""
    return _filled(0, args, dtype, device, requires_grad, kw=size, name="empty")


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        default = (dt.bool_, dt.int64, dt.get_default_dtype())[dt.scalar_category(fill_value)]
    else:
        default = None
    return _filled(fill_value, (size,), dtype, device, requires_grad, default)


def _like(fn, input: Tensor, dtype, device, requires_grad, *args):
    return fn(*args, input.shape, dtype=dtype or input.dtype,
              device=device if device is not None else input.device,
              requires_grad=requires_grad)


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    return _like(zeros, input, dtype, device, requires_grad)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    return _like(ones, input, dtype, device, requires_grad)


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    return _like(empty, input, dtype, device, requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype,
                device=device if device is not None else input.device,
                requires_grad=requires_grad)


def _new(fn):
    """``Tensor.new_<fn>``: like ``fn`` with dtype and device defaulting to this tensor's."""
    def method(self, *args, dtype=None, device=None, requires_grad: bool = False, **kwargs):
        return fn(*args, **kwargs, dtype=dtype or self.dtype,
                  device=device if device is not None else self._device,
                  requires_grad=requires_grad)
    method.__name__ = method.__qualname__ = f"new_{fn.__name__}"
    method.__doc__ = f"``Tensor.new_{fn.__name__}``: {fn.__name__} with this tensor's dtype and device."
    return method


for _fn in (tensor, zeros, ones, empty, full):
    tensor_method(_new(_fn))


def eye(n: int, m: int | None = None, *, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    dev = canonical(device)
    d = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    with device_guard(dev):
        arr = get_backend(dev.type).xp.eye(n, m, dtype=d.np)
    return _finish(arr, dev, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        isint = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals)
        d = dt.int64 if isint else dt.get_default_dtype()
    else:
        d = dt.to_dtype(dtype)
    dev = canonical(device)
    if not d.is_floating_point:
        for v in vals[:2]:
            check_fill(v, dt.int64)
    arr = np.arange(*vals, dtype=np.float64 if d.is_floating_point else np.int64).astype(d.np)
    if dev.type != "cpu":
        arr = get_backend(dev.type).from_numpy(arr, dev.index)
    return _finish(arr, dev, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    dev = canonical(device)
    d = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    if d is dt.bool_:
        raise NotImplementedError(f'"linspace_{dev.type}" not implemented for \'Bool\'')
    arr = np.linspace(float(start), float(end), int(steps)).astype(d.np)
    if dev.type != "cpu":
        arr = get_backend(dev.type).from_numpy(arr, dev.index)
    return _finish(arr, dev, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    lin = linspace(start, end, steps, dtype=dt.float64)
    return tensor(base ** lin.numpy(), dtype=dtype or dt.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


# -- random ---------------------------------------------------------------------------------------

def _draw(device, generator: Generator | None, method: str, *args):
    """Random numbers on ``device`` from its backend's generator, or from ``generator`` (a host
    stream whose draws are copied to the device)."""
    b = get_backend(device.type)
    if generator is None:
        with device_guard(device):  # each cuda device draws from its own generator
            return getattr(b, method)(*args)
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a gputensor.Generator, got {type(generator).__name__}")
    host = HOST_RANDOM[method](generator._rng, *args)
    return host if device.type == "cpu" else b.from_numpy(host, device.index)


def _float_dtype(dtype) -> dt.dtype:
    d = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    if not d.is_floating_point:
        raise RuntimeError(f"expected a floating point dtype for random floats, got {d}")
    return d


def rand(*args, size=None, generator=None, dtype=None, device=None,
         requires_grad: bool = False) -> Tensor:
    dev, d = canonical(device), _float_dtype(dtype)
    arr = _draw(dev, generator, "uniform", 0.0, 1.0, _size(args, size, "rand"), d.np)
    return _finish(arr, dev, requires_grad)


def randn(*args, size=None, generator=None, dtype=None, device=None,
          requires_grad: bool = False) -> Tensor:
    dev, d = canonical(device), _float_dtype(dtype)
    arr = _draw(dev, generator, "normal", 0.0, 1.0, _size(args, size, "randn"), d.np)
    return _finish(arr, dev, requires_grad)


def randint(low=None, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """``randint(high, size)``, ``randint(low, high, size)`` (any of them by keyword)."""
    if size is None and high is not None and low is not None:  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    elif low is None:  # randint(high=..., size=...)
        low = 0
    if size is None or high is None:
        raise TypeError("randint() missing required arguments 'high' and 'size'")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint(): argument 'size' must be tuple of ints, not "
                        f"{type(size).__name__}")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    dev = canonical(device)
    d = dt.to_dtype(dtype) if dtype is not None else dt.int64
    arr = _draw(dev, generator, "integers", low, high, _size((size,)), d.np)
    return _finish(arr, dev, requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    dev = canonical(device)
    d = dt.to_dtype(dtype) if dtype is not None else dt.int64
    return _finish(_draw(dev, generator, "permutation", int(n), d.np), dev, requires_grad)


def rand_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(rand, input, dtype, device, requires_grad)


def randn_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(randn, input, dtype, device, requires_grad)


def randint_like(input: Tensor, low, high=None, *, dtype=None, device=None) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype,
                   device=device if device is not None else input.device)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """``normal(mean, std)`` with tensor or float mean/std, or ``normal(m, s, size)``."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(tuple(getattr(mean, "shape", ())),
                                    tuple(getattr(std, "shape", ())))
        z = randn(shape, dtype=ref.dtype, device=ref.device)
        return (z * std + mean).detach()
    if size is None:
        raise TypeError("normal(float mean, float std) needs a size")
    dev, d = canonical(device), _float_dtype(dtype)
    arr = _draw(dev, generator, "normal", float(mean), float(std), _size((size,)), d.np)
    return _finish(arr, dev, requires_grad)


@tensor_method
def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """1 with probability ``input`` (or the number ``p``), else 0, in ``input``'s dtype."""
    if not input.is_floating_point():
        from .linalg import scalar_name
        raise NotImplementedError(f"\"bernoulli_tensor_cpu_p_\" not implemented for "
                                  f"'{scalar_name(input)}'")
    if p is not None and not 0.0 <= p <= 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    probs = input.detach() if p is None else full_like(input, p)
    if p is None and bool(((probs < 0) | (probs > 1)).any()):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could "
                           "this error message be improved?  If so, please report an enhancement "
                           "request to PyTorch.)")
    u = rand(*probs.shape, generator=generator, dtype=probs.dtype, device=probs.device)
    return (u < probs).to(input.dtype)


def manual_seed(seed: int):
    """Seed every device's generator (cpu, and cuda once it is in use or available)."""
    seed_all(int(seed))


def seed() -> int:
    s = int(np.random.SeedSequence().entropy % (2 ** 63))
    manual_seed(s)
    return s


def initial_seed() -> int:
    return get_backend("cpu").initial_seed()


def get_rng_state():
    return get_backend("cpu").get_rng_state()


def set_rng_state(state) -> None:
    get_backend("cpu").set_rng_state(state)


__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "empty", "full",
           "zeros_like", "ones_like", "empty_like", "full_like", "eye", "arange", "linspace",
           "logspace", "rand", "randn", "randint", "randperm", "rand_like", "randn_like",
           "randint_like", "normal", "bernoulli", "manual_seed", "seed", "initial_seed",
           "get_rng_state", "set_rng_state"]
