"""Small Tensor methods and top-level functions torch code uses: aliases (``divide``, ``H``,
``adjoint`` ...), predicates (``is_signed``, ``is_nonzero`` ...), storage facts (``nbytes``,
``storage_offset``), legacy ``new``, and index writes built from existing differentiable ops
(``index_copy``, ``index_reduce``, ``masked_scatter``, ``put``, ``renorm``, ``diagflat``,
``sum_to_size``), so their gradients come for free.
"""
from __future__ import annotations

import builtins
import warnings

import numpy as np

from .. import _dtype as dt
from ..tensor import Tensor, tensor_method
from . import creation as cr
from . import elementwise as ew
from . import index_ops as ix
from . import pointwise as pw
from . import scatter as sc
from . import shape as sh
from . import diagonals as dg
from . import join_split as js
from ._util import unbroadcast, wrap

# -- method aliases torch has (the functions already exist) ---------------------------------------
for _name, _fn in (("divide", ew.div), ("multiply", ew.mul), ("subtract", ew.sub),
                   ("true_divide", ew.div), ("negative", ew.neg), ("swapaxes", sh.transpose),
                   ("swapdims", sh.transpose)):
    setattr(Tensor, _name, _fn)
true_divide = ew.div


@tensor_method
def sgn(input: Tensor) -> Tensor:
    """``sign`` for real tensors (torch's ``sgn`` is ``x / |x|`` only for complex ones)."""
    return pw.sign(input)


@tensor_method
def positive(input: Tensor) -> Tensor:
    """Returns ``input`` itself (torch rejects bool tensors)."""
    if input.dtype is dt.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def _matrix_h(self: Tensor) -> Tensor:
    if self.ndim not in (0, 2):
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                           f"{self.ndim}-D tensor.")
    return sh.t(self) if self.ndim == 2 else self


@tensor_method
def adjoint(input: Tensor) -> Tensor:
    """Conjugate transpose of the last two dims (a transpose for real tensors)."""
    if input.ndim < 2:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {input.ndim}-D tensor.")
    return sh.transpose(input, -2, -1)


def _mh(self: Tensor) -> Tensor:
    if self.ndim < 2:
        raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. "
                           f"Got {self.ndim}-D tensor.")
    return sh.transpose(self, -2, -1)


Tensor.H = property(_matrix_h)
Tensor.mH = property(_mh)
Tensor.itemsize = property(lambda self: self._data.dtype.itemsize)
Tensor.nbytes = property(lambda self: self._data.size * self._data.dtype.itemsize)
Tensor.output_nr = property(lambda self: self._output_nr)


def _storage_offset(self: Tensor) -> int:
    """Elements from the start of the storage (the base tensor's memory) to this view's first."""
    base = self._base
    if base is None or self._data.size == 0:
        return 0
    return (self.data_ptr() - base.data_ptr()) // self._data.dtype.itemsize


Tensor.storage_offset = _storage_offset


# -- predicates -----------------------------------------------------------------------------------

@tensor_method
def get_device(input: Tensor) -> int:
    """-1 for a cpu tensor, else the device index."""
    return -1 if input._device.type == "cpu" else (input._device.index or 0)


@tensor_method
def is_nonzero(input: Tensor) -> bool:
    n = input._data.size
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


@tensor_method
def is_same_size(input: Tensor, other: Tensor) -> bool:
    return tuple(input.shape) == tuple(other.shape)


@tensor_method
def is_signed(input: Tensor) -> bool:
    return input.dtype.is_signed


def _false_predicate(name: str):
    def fn(input: Tensor) -> bool:
        return False
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = "Always False: gputensor has no complex, conjugate-view, negative-view or "\
                 "inference tensors."
    return tensor_method(fn)


is_complex = _false_predicate("is_complex")
is_conj = _false_predicate("is_conj")
is_neg = _false_predicate("is_neg")
is_inference = _false_predicate("is_inference")
Tensor.is_pinned = lambda self, device=None: False


def _pin_memory(self: Tensor, device=None) -> Tensor:
    """A copy (page-locking is the CUDA runtime's business); torch raises without a GPU."""
    from .. import cuda
    if self._device.type != "cpu":
        raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
    if not cuda.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    return self.clone()


Tensor.pin_memory = _pin_memory


# -- legacy constructor ---------------------------------------------------------------------------

def _new(self: Tensor, *args, device=None) -> Tensor:
    """Legacy ``x.new(...)``: sizes give an uninitialised (here zeroed) tensor, data a copy,
    nothing an empty 1-D tensor; always this tensor's dtype and (by default) device."""
    dev = self.device if device is None else device
    if len(args) == 1 and isinstance(args[0], (tuple, list)) and not args[0]:
        args = ()
    if len(args) == 1 and isinstance(args[0], sh.Size):
        args = tuple(args[0])
    if not args:
        return cr.empty(0, dtype=self.dtype, device=dev)
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        return cr.empty(*args, dtype=self.dtype, device=dev)
    if len(args) == 1 and isinstance(args[0], Tensor):
        return args[0].to(device=dev, dtype=self.dtype)  # torch.Tensor.new(t) aliases t
    if len(args) == 1:
        return cr.tensor(args[0], dtype=self.dtype, device=dev)
    raise TypeError(f"new() received an invalid combination of arguments: {args!r}")


Tensor.new = _new


# -- shape helpers --------------------------------------------------------------------------------

@tensor_method
def sum_to_size(input: Tensor, *size) -> Tensor:
    """Sum (keeping dims) down to ``size``, which ``input`` must be expandable from."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    size = tuple(int(s) for s in size)
    shape = tuple(input.shape)
    ok = len(size) <= len(shape) and all(
        s == t or s == 1 for s, t in zip(size[::-1], shape[::-1]))
    if not ok:
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    return unbroadcast(input, size)


@tensor_method
def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    return js.split(input, list(split_sizes), dim)


@tensor_method
def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The flattened input as the ``offset`` diagonal of a square matrix."""
    return dg.diag(input.reshape(-1), offset)


# -- index writes from differentiable pieces ------------------------------------------------------

def _index_vector(index: Tensor, op: str) -> Tensor:
    if not isinstance(index, Tensor) or index._data.dtype.kind not in "iu":
        raise IndexError(f"{op}(): Expected a long tensor for index, but got "
                         f"{getattr(index, 'dtype', type(index).__name__)}")
    if index.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    return index.reshape(-1)


@tensor_method
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """Copy ``source``'s slices to the positions ``index`` of ``input`` along ``dim``."""
    idx = _index_vector(index, "index_copy")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, "
                           f"but got (self) {input.dtype.name} and (source) "
                           f"{source.dtype.name}")
    if input.ndim == 0:
        return source.reshape(()).clone() if idx._data.size else input.clone()
    ix._dim_key(input, dim, idx, "index_copy", strict="copy")  # torch's IndexError first
    return ix.index_add(ix.index_fill(input, dim, idx, 0), dim, idx, source)


@tensor_method
def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """Reduce (prod, mean, amax, amin) ``source``'s slices into ``input`` at ``index``."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    idx = _index_vector(index, "index_reduce")
    d = dim % max(input.ndim, 1)
    view = [1] * source.ndim
    if source.ndim:
        view[d] = idx._data.size
    full = idx.reshape(view).expand(tuple(source.shape)) if source.ndim else idx.reshape(())
    return sc.scatter_reduce(input, d, full, source, reduce, include_self=include_self)


@tensor_method
def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``source``'s elements, in order, at the places ``mask`` is True; ``input`` elsewhere."""
    if mask._data.dtype.kind != "b":
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with "
                           f"dtype {mask.dtype.name}")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got {input.dtype.name} and {source.dtype.name}")
    shape = np.broadcast_shapes(tuple(input.shape), tuple(mask.shape))
    x = input.expand(shape) if tuple(input.shape) != shape else input
    m = mask.expand(shape)
    pos = ix.nonzero(m.reshape(-1)).reshape(-1)
    k = pos._data.size
    if k > source.numel():
        raise RuntimeError("masked_scatter: Number of elements of source < number of ones in "
                           "mask")
    vals = source.reshape(-1)[:k]
    placed = ix.index_add(cr.zeros_like(x).reshape(-1), 0, pos, vals).reshape(shape)
    return pw.where(m, placed, x)


@tensor_method
def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """Write ``source`` at the flat positions ``index`` (negative ones count from the end)."""
    if index._data.dtype.kind not in "iu":
        raise IndexError(f"put_(): Expected a long tensor for index, but got {index.dtype.name}")
    if index.numel() != source.numel():
        raise RuntimeError(f"put_(): Expected source and index to have the same number of "
                           f"elements, but got source.numel() = {source.numel()}, "
                           f"index.numel() = {index.numel()}")
    n = input.numel()
    flat_idx = index.reshape(-1)
    raw = flat_idx._data
    if raw.size and (int(raw.max()) >= n or int(raw.min()) < -n):
        bad = int(raw.max()) if int(raw.max()) >= n else int(raw.min())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         f"elements.")
    flat_idx = wrap(raw % max(n, 1), flat_idx)
    flat, src = input.reshape(-1), source.reshape(-1)
    out = ix.index_add(flat, 0, flat_idx, src) if accumulate else \
        index_copy(flat, 0, flat_idx, src)
    return out.reshape(tuple(input.shape))


@tensor_method
def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Rescale each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` to norm
    ``maxnorm`` (torch divides by ``norm + 1e-7``)."""
    if not input.is_floating_point():
        raise RuntimeError(f"renorm: Expected a floating point or complex tensor as input. Got "
                           f"{input.dtype.name}")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = dim % max(input.ndim, 1)
    others = tuple(i for i in builtins.range(input.ndim) if i != d)  # torch.range below
    norm = input.norm(p, dim=others, keepdim=True) if others else input.abs()
    factor = pw.where(norm > maxnorm, maxnorm / (norm + 1e-7), cr.ones_like(norm))
    return input * factor


# -- apply_ / map_ (python callables, cpu only) ---------------------------------------------------

def _python_map(self: Tensor, fn, other: Tensor | None, name: str) -> Tensor:
    if self._device.type != "cpu":
        raise TypeError(f"{name} is only implemented on CPU tensors")
    self._check_inplace()
    a = self._data
    if other is None:
        out = [fn(v) for v in a.reshape(-1).tolist()]
    else:
        b = np.broadcast_to(other.cpu()._data, a.shape).reshape(-1).tolist()
        out = [fn(v, w) for v, w in zip(a.reshape(-1).tolist(), b)]
    a[...] = np.asarray(out, dtype=a.dtype).reshape(a.shape)
    self._version.value += 1
    return self


Tensor.apply_ = lambda self, callable: _python_map(self, callable, None, "apply_")
Tensor.map_ = lambda self, tensor, callable: _python_map(self, callable, tensor, "map_")


def _post_accumulate_hook(self: Tensor, hook):
    """``hook(tensor)`` runs after this leaf's ``.grad`` is accumulated (optimizer-in-backward)."""
    from ..tensor import _HookHandle
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self._grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    hooks = self.__dict__.setdefault("_post_acc_hooks", [])
    hooks.append(hook)
    return _HookHandle(hooks, hook)


Tensor.register_post_accumulate_grad_hook = _post_accumulate_hook


# -- top-level functions --------------------------------------------------------------------------

def detach(input: Tensor) -> Tensor:
    return input.detach()


def scalar_tensor(s, *, dtype=None, device=None, requires_grad: bool = False, **_) -> Tensor:
    """A 0-dim tensor of the default float dtype (unless ``dtype``) holding ``s``."""
    return cr.tensor(float(s) if dtype is None else s, dtype=dtype or dt.get_default_dtype(),
                     device=device, requires_grad=requires_grad)


def range(start, end, step=1, *, dtype=None, device=None,  # noqa: A001
          requires_grad: bool = False) -> Tensor:
    """Deprecated torch.range: ``start`` to ``end`` inclusive, default float dtype."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because "
                  "its behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=3)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    n = int(np.floor((end - start) / step)) + 1
    vals = np.asarray(start, np.float64) + np.arange(n, dtype=np.float64) * step
    return cr.tensor(vals, dtype=dtype or dt.get_default_dtype(), device=device,
                     requires_grad=requires_grad)


def rsub(input: Tensor, other, *, alpha=1) -> Tensor:
    """``other - alpha * input``."""
    return ew.sub(other, input, alpha=alpha)


def typename(obj) -> str:
    """torch's type name: ``torch.FloatTensor`` for tensors, else the qualified class name."""
    if isinstance(obj, Tensor):
        return obj.type().replace("gputensor.", "torch.", 1)
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module in ("builtins", None) else f"{module}.{name}"


def is_storage(obj) -> bool:
    """False: gputensor tensors own arrays, not separate storage objects."""
    return False


def can_cast(from_: dt.dtype, to: dt.dtype) -> bool:
    """torch's same-kind casting rule: no float -> integer and no non-bool -> bool."""
    order = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
    return order[from_.np.kind] <= order[to.np.kind] if not (
        to.np.kind == "b" and from_.np.kind != "b") else False


__all__ = ["sgn", "positive", "adjoint", "get_device", "is_nonzero", "is_same_size", "is_signed",
           "is_complex", "is_conj", "is_neg", "is_inference", "split_with_sizes", "diagflat",
           "index_copy", "index_reduce", "masked_scatter", "put", "renorm", "detach",
           "scalar_tensor", "range", "rsub", "typename", "is_storage", "can_cast"]
