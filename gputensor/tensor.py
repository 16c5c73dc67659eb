"""``Tensor``: an array on a device (cpu or cuda) plus its place in the autograd graph.

The class holds what every tensor is (storage, device, grad state, conversions, printing); its
dtype/device conversion methods (``to``, ``cpu``, ``float`` ...) are written in ``_tensor_convert``.
Math, shape and indexing methods are attached by the modules in ``gputensor.ops`` with the
``@tensor_method`` decorator, so each op lives in one place as a function and a method.
"""
from __future__ import annotations

import warnings
import weakref

import numpy as np

from . import _dtype as dt
from . import _layout
from . import _overlap
from . import _tensor_convert as _convert
from ._device import CPU, canonical
from ._device import device as _device_cls
from .autograd import backward as _run_backward
from .autograd import function as _function
from .autograd import grad_mode
from ._torch_args import adapt
from ._tensor_convert import _LEGACY_NAMES  # noqa: F401  (gputensor._legacy, _sparse read it here)
from .backends import _backends, get_backend

get_backend("cpu")  # always present; cuda is created on first use


class Size(tuple):
    """``tensor.shape``: a tuple that prints like torch's and knows its element count."""

    def __repr__(self) -> str:
        return f"gputensor.Size({list(self)})"

    def __getitem__(self, index):
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out

    # Arithmetic keeps the type, as torch's does: ``x.shape[:-1] + (n,)`` is still a Size.
    def __add__(self, other: tuple) -> "Size":
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other: tuple) -> "Size":
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n) -> "Size":
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


_warned_float = False


class _Version:
    """Shared by a tensor and its views; bumped by every in-place write. ``value`` starts as
    the class default (no ``__init__``: making one costs no Python frame)."""

    value = 0


def _false(self) -> bool:
    return False


class Tensor:
    __slots__ = ("_data", "_device", "_requires_grad", "_grad", "_grad_fn", "_output_nr",
                 "_version", "_hooks", "_grad_acc", "_base", "__weakref__", "__dict__")
    __array_priority__ = 1000  # NumPy defers ``ndarray op Tensor`` to Tensor's reflected ops

    def __init__(self, *args, device=None):
        """``Tensor(data)`` copies data into a default-dtype tensor; ``Tensor(2, 3)`` makes a
        2x3 one (zero-filled here), as ``torch.Tensor`` does."""
        if args and all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            arr = np.zeros(args, dtype=dt.get_default_dtype().np)
        elif len(args) <= 1:
            data = args[0] if args else ()
            arr = np.array(data.tolist() if isinstance(data, Tensor) else data,
                           dtype=dt.get_default_dtype().np)
        else:
            raise TypeError(f"Tensor() takes data or integer sizes, got {args!r}")
        dev = canonical(device)
        self._init(arr if dev.type == "cpu" else get_backend(dev.type).from_numpy(arr, dev.index),
                   dev)

    def _init(self, data, device) -> None:
        self._data = data
        self._device = device
        self._requires_grad = False
        self._grad = None
        self._grad_fn = None
        self._output_nr = 0
        self._version = _Version()
        self._hooks = None
        self._grad_acc = None
        self._base = None

    @classmethod
    def _make(cls, data, device, requires_grad: bool = False) -> "Tensor":
        """Wrap a backend array already on ``device`` (no copy). NumPy hands back scalars for
        0-d results; they become 0-d arrays so every tensor has writable array storage."""
        if isinstance(data, np.generic):
            data = np.asarray(data)
        t = object.__new__(cls)
        t._data = data  # _init, inlined: this runs for every op's result
        t._device = device
        t._requires_grad = False
        t._grad = None
        t._grad_fn = None
        t._output_nr = 0
        t._version = _Version()
        t._hooks = None
        t._grad_acc = None
        t._base = None
        if requires_grad:
            t.requires_grad = True
        return t

    def _view_of(self, data) -> "Tensor":
        """Wrap ``data``, a view of this tensor's storage, sharing its version counter."""
        t = Tensor._make(data, self._device)
        t._version = self._version
        t._base = self if self._base is None else self._base
        return t

    @property
    def _backend(self):
        return _backends[self._device.type]

    def _dtype(self) -> dt.dtype:
        return dt._FROM_NP[self._data.dtype]

    # -- metadata ----------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> dt.dtype:
        return dt._FROM_NP[self._data.dtype]

    @property
    def device(self) -> _device_cls:
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def layout(self):
        return _layout.strided  # SparseTensor (gputensor/_sparse.py) overrides it

    is_sparse = False  # a dense (strided) tensor; SparseTensor sets True

    @property
    def is_cpu(self) -> bool:
        return self._device.type == "cpu"

    is_xpu = is_mps = is_meta = property(_false)  # devices gputensor does not have

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_contiguous(self, memory_format=None) -> bool:
        if memory_format is None:
            return bool(self._data.flags.c_contiguous)
        from ._memory_format import is_contiguous_as
        return is_contiguous_as(self._data, memory_format)

    def stride(self, dim: int | None = None):
        st = tuple(s // self._data.dtype.itemsize for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim)]

    def data_ptr(self) -> int:
        if self.is_cuda and self._backend.mode == "gpu":
            return self._data.data.ptr
        return self._data.__array_interface__["data"][0]

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # -- autograd state ----------------------------------------------------------------------
    @property
    def grad_fn(self):
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self._data.dtype.kind != "f":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               f"gradients (got {self.dtype})")
        if not value and self._grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        self._requires_grad = bool(value)

    @property
    def grad(self):
        if self._grad is None and self._grad_fn is not None and not self.retains_grad:
            warnings.warn("The .grad attribute of a Tensor that is not a leaf Tensor is being "
                          "accessed. Its .grad attribute won't be populated during "
                          "autograd.backward(). If you indeed want the .grad field to be "
                          "populated for a non-leaf Tensor, use .retain_grad() on the non-leaf "
                          "Tensor.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got "
                                f"{type(value).__name__}")
            if value._device != self._device or value._data.shape != self._data.shape:
                raise RuntimeError(f"assigned grad has shape {tuple(value.shape)} on "
                                   f"{value._device}, but the tensor has shape "
                                   f"{tuple(self.shape)} on {self._device}")
        self._grad = value

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None:
            return
        node = self._grad_fn
        if node._retained is None:
            node._retained = {}
        node._retained[self._output_nr] = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        n = self._grad_fn
        return bool(n is not None and n._retained and self._output_nr in n._retained)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self._grad_fn
            if node._pre_hooks is None:
                node._pre_hooks = {}
            hooks = node._pre_hooks.setdefault(self._output_nr, [])
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (``gradient`` is required
        unless this tensor has one element)."""
        _run_backward(self, [gradient], retain_graph, create_graph, inputs)

    def detach(self) -> "Tensor":
        t = Tensor._make(self._data, self._device)
        t._version = self._version
        t._base = self._base
        return t

    def detach_(self) -> "Tensor":
        self._grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> "Tensor":
        """Same storage, outside the graph (writes to it are not tracked by autograd)."""
        return Tensor._make(self._data, self._device)

    @data.setter
    def data(self, value: "Tensor") -> None:
        if value._device != self._device:
            raise RuntimeError(f"data: cannot assign a tensor on {value._device} to one on "
                               f"{self._device}")
        self._data = value._data

    # -- in-place machinery (used by ops' ``foo_`` methods and ``__setitem__``) ----------------
    def _check_inplace(self) -> None:
        if grad_mode.is_grad_enabled() and self.requires_grad and self._grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation.")

    def _assign(self, result: "Tensor", sources=(), expanded_ok: bool = False,
                alias_ok: bool = True) -> "Tensor":
        """Make ``result`` (computed out of place) this tensor's value, in its own storage.

        The graph is rebased: this tensor now stands for ``result`` (as torch's in-place ops
        do), and its version counter is bumped so stale saved copies are detected. torch's
        overlap rules apply (``_overlap``): ``sources`` are the op's inputs besides ``self``;
        ``expanded_ok`` marks the ops torch lets write into an expanded tensor (fills,
        masked_fill_, index_put_); ``alias_ok=False`` refuses a source that is this very tensor
        (torch's index_put_/scatter_ rule).
        """
        self._check_inplace()
        _overlap.check_write(self._data, sources, not expanded_ok, alias_ok)
        recorded = result.requires_grad and grad_mode.is_grad_enabled()
        if recorded and self._base is not None and (self.requires_grad or self._base.requires_grad):
            raise RuntimeError(
                "in-place operation on a view of a tensor that requires grad is not supported "
                "by gputensor's autograd; apply it to the base tensor or use an out-of-place op")
        rk, sk = result._data.dtype.kind, self._data.dtype.kind
        if (rk == "f" and sk != "f") or (rk in "iu" and sk == "b"):
            raise RuntimeError(f"result type {result.dtype} can't be cast to the desired output "
                               f"type {self.dtype}")
        if result._data.shape != self._data.shape:
            raise RuntimeError(f"output with shape {tuple(self.shape)} doesn't match the "
                               f"broadcast shape {tuple(result.shape)}")
        if result._data is not self._data:
            if expanded_ok and _overlap.has_internal_overlap(self._data):
                _overlap.write_overlapping(self._data, result._data)
            else:
                self._data[...] = result._data
        self._version.value += 1
        if recorded:
            self._grad_fn = result._grad_fn
            self._output_nr = result._output_nr
            self._requires_grad = True
        return self

    # -- conversions -------------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._device.type != "cpu":
            if not force:
                raise TypeError(f"can't convert {self._device} device type tensor to numpy. "
                                "Use Tensor.cpu() to copy the tensor to host memory first.")
            return self._backend.to_numpy(self._data)
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        a = self._backend.to_numpy(self._data)
        return a.astype(dtype) if dtype is not None else a

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        return self._backend.to_numpy(self._data).reshape(()).item()

    def tolist(self):
        return self._backend.to_numpy(self._data).tolist()

    def __float__(self) -> float:
        global _warned_float
        if self._requires_grad and not _warned_float and grad_mode.is_grad_enabled():
            _warned_float = True  # torch warns once per process
            warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to "
                          "unexpected behavior.\nConsider using tensor.detach() first.",
                          UserWarning, stacklevel=2)
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements is "
                               "ambiguous")
        return bool(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self._backend.to_numpy(self._data), str(self._device),
                           self.requires_grad))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol")
        t = Tensor._make(self._data.copy(), self._device, self.requires_grad)
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t

    # -- printing ----------------------------------------------------------------------------
    def __repr__(self) -> str:
        from ._format import tensor_repr
        return tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a one-element tensor's value, as torch does."""
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)


class _HookHandle:
    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


_function.Tensor = Tensor  # Function.apply tells tensors from other arguments with it
_convert.Tensor = Tensor
for _name, _method in vars(_convert.ConversionMethods).items():
    if callable(_method):  # ordinary methods in Tensor's own dict, as if written in its body
        _method.__qualname__ = f"Tensor.{_name}"
        setattr(Tensor, _name, _method)
del _name, _method


def _rebuild(arr, device, requires_grad):
    dev = canonical(device)
    data = arr if dev.type == "cpu" else get_backend(dev.type).from_numpy(arr, dev.index)
    return Tensor._make(data, dev, requires_grad)


def _wrap_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def tensor_method(fn=None, *, name: str | None = None, names: tuple = ()):
    """Decorator: also expose an op function as ``Tensor.<name>`` (and any extra ``names``).

    The function and method returned accept torch's keyword forms (``axis=``, ``keepdims=``,
    ``out=``; see ``_torch_args``); dunder names (``__add__`` ...) get the bare function."""
    def register(f):
        public = name or f.__name__
        g = adapt(f, public)
        for n in (public,) + tuple(names):
            setattr(Tensor, n, f if n.startswith("__") else g)
        return g
    return register(fn) if fn is not None else register


# Public home, as torch's classes say ``torch``: ``type(x)`` prints <class 'gputensor.Tensor'>.
Tensor.__module__ = Size.__module__ = "gputensor"

__all__ = ["Tensor", "Size", "tensor_method", "CPU"]
