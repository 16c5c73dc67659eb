"""Converters for pointwise, shape, indexing, joining and reduction Functions.

Each converter is ``fn(g, rec)`` -> the value name(s) of the record's output tensor(s) (None for
an output the graph does not produce); ``rec.args``/``rec.ctx`` hold the op's operands and the
attributes its forward saved, ``rec.alt`` the same op in the second trace (dynamic sizes).
"""
from __future__ import annotations

import numpy as np
from onnx import helper

from ..ops import convert as _convert
from ..ops import elementwise as _ew
from ..ops import index as _index
from ..ops import join_split as _join
from ..ops import linalg as _linalg
from ..ops import pointwise as _pw
from ..ops import reduce as _reduce
from ..ops import shape as _shape
from ..ops import activation as _act
from ..ops import compare as _cmp
from ..tensor import Tensor
from ._graph import captured, converter, converter_named, flat_tensors, to_numpy
from .errors import OnnxExporterError

INT64_MAX = np.iinfo(np.int64).max


def out_dtype(rec) -> np.dtype:
    return flat_tensors(rec.out)[0]._data.dtype


def alt_arg(rec, i: int):
    return rec.alt.args[i] if rec.alt is not None else None


def shapes(rec, i: int = 0) -> tuple:
    """(shape in this trace, shape in the other or None) of tensor argument ``i``."""
    b = alt_arg(rec, i)
    return tuple(rec.args[i].shape), (tuple(b.shape) if b is not None else None)


def out_shapes(rec) -> tuple:
    a = tuple(flat_tensors(rec.out)[0].shape)
    return a, (tuple(flat_tensors(rec.alt.out)[0].shape) if rec.alt is not None else None)


# -- pointwise ----------------------------------------------------------------------------------

def _binary(op_type: str):
    def convert(g, rec):
        dt = out_dtype(rec)
        return g.node(op_type, [g.input(rec, 0, dt), g.input(rec, 1, dt)])
    return convert


converter(_ew.Add)(_binary("Add"))
converter(_ew.Sub)(_binary("Sub"))
converter(_ew.Mul)(_binary("Mul"))
converter(_ew.Div)(_binary("Div"))
converter(_linalg.Matmul)(_binary("MatMul"))


@converter(_ew.Pow)
def _pow(g, rec):
    dt = out_dtype(rec)
    base, expo = rec.args[0], rec.args[1]
    if not isinstance(expo, Tensor) and float(expo) == 2.0:
        x = g.input(rec, 0, dt)
        return g.node("Mul", [x, x])
    return g.node("Pow", [g.input(rec, 0, dt), g.input(rec, 1, dt)])


_PW = "gputensor.ops.pointwise"
_UNARY = {"Sqrt": "Sqrt", "Abs": "Abs", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Relu": "Relu",
          "Erf": "Erf", "Sin": "Sin", "Cos": "Cos", "Floor": "Floor", "Reciprocal": "Reciprocal"}
for _cls, _op in {_ew.Neg: "Neg", _ew.Exp: "Exp", _ew.Log: "Log", _convert.Clone: "Identity",
                  _pw.Relu: "Relu"}.items():
    converter(_cls)(lambda g, rec, _op=_op: g.node(_op, [g.input(rec, 0)]))
for _name, _op in _UNARY.items():
    converter_named(_PW, _name)(lambda g, rec, _op=_op: g.node(_op, [g.input(rec, 0)]))


@converter_named(_PW, "Expm1")
def _expm1(g, rec):
    return g.node("Sub", [g.node("Exp", [g.input(rec, 0)]), g.value(1, dtype=out_dtype(rec))])


@converter_named(_PW, "Log1p")
def _log1p(g, rec):
    return g.node("Log", [g.node("Add", [g.input(rec, 0), g.value(1, dtype=out_dtype(rec))])])


@converter_named(_PW, "Rsqrt")
def _rsqrt(g, rec):
    return g.node("Reciprocal", [g.node("Sqrt", [g.input(rec, 0)])])


@converter(_pw.Where)
def _where(g, rec):
    dt = out_dtype(rec)
    return g.node("Where", [g.input(rec, 0, np.bool_), g.input(rec, 1, dt), g.input(rec, 2, dt)])


@converter(_pw.Clamp)
def _clamp(g, rec):
    dt = out_dtype(rec)
    x, lo, hi = rec.args[:3]
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        out = g.input(rec, 0)
        if lo is not None:
            out = g.node("Max", [out, g.input(rec, 1, dt)])
        if hi is not None:
            out = g.node("Min", [out, g.input(rec, 2, dt)])
        return out
    return g.node("Clip", [g.input(rec, 0), g.value(lo, dtype=dt) if lo is not None else "",
                           g.value(hi, dtype=dt) if hi is not None else ""])


@converter(_convert.ToCopy)
def _to_copy(g, rec):
    return g.node("Cast", [g.input(rec, 0)], to=helper.np_dtype_to_tensor_dtype(out_dtype(rec)))


@converter(_act.Softmax)
def _softmax(g, rec):
    return g.node("Softmax", [g.input(rec, 0)], axis=int(rec.ctx.dim))


@converter(_act.LogSoftmax)
def _log_softmax(g, rec):
    return g.node("LogSoftmax", [g.input(rec, 0)], axis=int(rec.ctx.dim))


# -- shapes -------------------------------------------------------------------------------------

def reshape_target(g, in_a, in_b, tgt_a, tgt_b) -> str:
    """A Reshape shape operand: static sizes as is, a size that follows a dynamic axis as 0
    (copy the input's) when it sits at the same place, one other as -1, else computed."""
    tgt_a = tuple(int(s) for s in tgt_a)
    if tgt_b is None or tuple(tgt_b) == tgt_a:
        return g.ints(tgt_a)
    out, unknown = [], []
    for i, (a, b) in enumerate(zip(tgt_a, tgt_b)):
        if a == b:
            out.append(a)
        elif i < len(in_a) and in_a[i] == a and in_b[i] == b:
            out.append(0)
        else:
            out.append(-1)
            unknown.append(i)
    if len(unknown) <= 1 and 0 not in tgt_a:
        return g.ints(out)
    return g.shape_vec(tgt_a, tgt_b)


def _matched_axes(longer: tuple, shorter: tuple):
    """Axes of size-1 dims of ``longer`` whose removal leaves ``shorter`` (None if none)."""
    axes, j = [], 0
    for i, s in enumerate(longer):
        if j < len(shorter) and shorter[j] == s:
            j += 1
        elif s == 1:
            axes.append(i)
        else:
            return None
    return axes if j == len(shorter) else None


@converter(_shape.Reshape)
def _reshape(g, rec):
    (in_a, in_b), tgt_a = shapes(rec), tuple(rec.args[1])
    tgt_b = tuple(rec.alt.args[1]) if rec.alt is not None else None
    x = g.input(rec, 0)
    if rec.op is _shape.Unsqueeze:
        axes = _matched_axes(tgt_a, in_a)
        if axes is not None and (tgt_b is None or _matched_axes(tgt_b, in_b) == axes):
            return g.node("Unsqueeze", [x, g.ints(axes)])
    if rec.op in (_shape.Squeeze, _shape.SqueezeDim, _shape.SqueezeDims):
        axes = _matched_axes(in_a, tgt_a)
        if axes is not None and (tgt_b is None or _matched_axes(in_b, tgt_b) == axes):
            return g.node("Squeeze", [x, g.ints(axes)])
    return g.node("Reshape", [x, reshape_target(g, in_a, in_b, tgt_a, tgt_b)])


@captured(_shape.flatten)
def _flatten(g, rec):
    """Flatten(axis=1) for ``flatten(x, 1)`` as torch exports it; a Reshape otherwise."""
    p = rec.params()
    x_t = p["input"]
    nd = x_t.ndim
    start, end = int(p["start_dim"]) % max(nd, 1), int(p["end_dim"]) % max(nd, 1)
    x = g.param(rec, "input")
    if nd >= 2 and start == 1 and end == nd - 1:
        return g.node("Flatten", [x], axis=1)
    in_a = tuple(x_t.shape)
    in_b = tuple(rec.alt.params()["input"].shape) if rec.alt is not None else None
    out_a, out_b = out_shapes(rec)
    return g.node("Reshape", [x, reshape_target(g, in_a, in_b, out_a, out_b)])


@converter(_shape.Permute)
def _permute(g, rec):
    return g.node("Transpose", [g.input(rec, 0)], perm=[int(d) for d in rec.args[1]])


@converter(_shape.Expand)
def _expand(g, rec):
    (in_a, in_b), tgt_a = shapes(rec), tuple(rec.args[1])
    tgt_b = tuple(rec.alt.args[1]) if rec.alt is not None else None
    lead = len(tgt_a) - len(in_a)
    dims = []
    for i, a in enumerate(tgt_a):
        b = tgt_b[i] if tgt_b is not None else None
        j = i - lead
        keep = j >= 0 and in_a[j] == a and (in_b is None or in_b[j] == b)
        dims.append(g.ints([1]) if keep else g.dim(a, b))
    shape = g.node("Concat", dims, axis=0) if len(dims) > 1 else dims[0]
    return g.node("Expand", [g.input(rec, 0), shape])


@converter(_shape.Repeat)
def _repeat(g, rec):
    x, reps = g.input(rec, 0), tuple(int(r) for r in rec.args[1])
    extra = len(reps) - rec.args[0].ndim
    if extra:
        x = g.node("Unsqueeze", [x, g.ints(range(extra))])
    return g.node("Tile", [x, g.ints(reps)])


@converter(_join.Cat)
def _cat(g, rec):
    dim, skip = rec.args[0], rec.args[1]
    ins = [g.input(rec, 2 + i) for i, s in enumerate(skip) if not s]
    return g.node("Concat", ins, axis=int(dim)) if len(ins) > 1 else g.node("Identity", ins)


# -- indexing -----------------------------------------------------------------------------------

def _bound(g, a, b):
    """A 1-D int64 [1] Slice bound (dynamic when the traces differ)."""
    return g.ints([a]) if b is None or a == b else g.dim(a, b)


@converter(_index.Index)
def _index_op(g, rec):
    x_t, key = rec.args[0], rec.args[1]
    key_b = rec.alt.args[1] if rec.alt is not None else None
    if isinstance(key, _index.Staged):
        raise OnnxExporterError(f"{rec.name}: indexing that mixes integers with index tensors "
                                f"is not supported by gputensor.onnx")
    arrays = [k for k in key if hasattr(k, "dtype") and not isinstance(k, (int, np.integer))]
    nd = x_t.ndim
    consumed = sum(1 for k in key if k is not None and k is not Ellipsis)
    if any(k.dtype == np.bool_ for k in arrays) or len(arrays) > 1:
        raise OnnxExporterError(f"{rec.name}: boolean-mask or multi-tensor indexing is not "
                                f"supported by gputensor.onnx")
    x = g.input(rec, 0)
    pos = 0
    for i, k in enumerate(key):
        kb = key_b[i] if key_b is not None else None
        if k is Ellipsis:
            pos += nd - consumed
        elif k is None:
            x = g.node("Unsqueeze", [x, g.ints([pos])])
            pos += 1
        elif isinstance(k, slice):
            if k != slice(None):
                start = 0 if k.start is None else k.start
                stop = INT64_MAX if k.stop is None else k.stop
                sb = kb if isinstance(kb, slice) else k
                x = g.node("Slice", [x, _bound(g, start, 0 if sb.start is None else sb.start),
                                     _bound(g, stop, INT64_MAX if sb.stop is None else sb.stop),
                                     g.ints([pos]), g.ints([1 if k.step is None else k.step])])
            pos += 1
        elif isinstance(k, (int, np.integer)):
            x = g.node("Gather", [x, g.const(np.asarray(int(k), dtype=np.int64))], axis=pos)
        else:  # one integer index array: Gather along this dim
            idx = g.value(k, kb)
            if k.dtype != np.int64:
                idx = g.node("Cast", [idx], to=helper.TensorProto.INT64)
            x = g.node("Gather", [x, idx], axis=pos)
            pos += k.ndim
    return x


def _broadcast_source(g, arr) -> str | None:
    """The graph value ``arr`` is a broadcast view of (``masked_fill_`` broadcasts its mask),
    found through the array's ``base`` chain; None if there is none."""
    base = getattr(arr, "base", None)
    while base is not None:
        name = g.lookup(base)
        if name is not None:
            try:
                same = np.array_equal(np.broadcast_to(to_numpy(base), arr.shape), to_numpy(arr))
            except ValueError:
                same = False
            return name if same else None
        base = getattr(base, "base", None)
    return None


@converter(_index.IndexPut)
def _index_put(g, rec):
    x, value, key = rec.args[:3]
    key_b = rec.alt.args[2] if rec.alt is not None else None
    masks = [k for k in key if k is not Ellipsis]
    if len(masks) != 1 or not hasattr(masks[0], "dtype") or masks[0].dtype != np.bool_:
        raise OnnxExporterError(f"{rec.name}: only masked assignment (masked_fill) is "
                                f"supported by gputensor.onnx")
    i = key.index(masks[0])
    mask = _broadcast_source(g, masks[0]) or g.value(masks[0], key_b[i] if key_b is not None
                                                       else None)
    dt = out_dtype(rec)
    return g.node("Where", [mask, g.input(rec, 1, dt), g.input(rec, 0)])


# -- reductions ---------------------------------------------------------------------------------

def reduce(g, op_type: str, x: str, axes, keepdim: bool) -> str:
    axes = [int(a) for a in axes]
    if op_type == "ReduceSum" or g.opset >= 18:
        return g.node(op_type, [x, g.ints(axes)], keepdims=int(bool(keepdim)))
    return g.node(op_type, [x], axes=axes, keepdims=int(bool(keepdim)))


@converter(_reduce.Sum)
def _sum(g, rec):
    _, dims, keep = rec.ctx.meta
    x = g.input(rec, 0)
    if rec.args[0]._data.dtype != out_dtype(rec):
        x = g.node("Cast", [x], to=helper.np_dtype_to_tensor_dtype(out_dtype(rec)))
    return reduce(g, "ReduceSum", x, dims, keep)


@converter(_reduce.Mean)
def _mean(g, rec):
    _, dims, keep = rec.ctx.meta
    return reduce(g, "ReduceMean", g.input(rec, 0), dims, keep)


@converter(_reduce.Select)
def _extreme(g, rec):
    """max/min/amax/amin over dims: which one is read off the traced values."""
    _, dims, keep = rec.ctx.meta
    x, out = to_numpy(rec.args[0]), to_numpy(flat_tensors(rec.out)[0])
    is_max = np.array_equal(np.max(x, axis=tuple(dims), keepdims=bool(keep)), out,
                            equal_nan=x.dtype.kind == "f")
    return reduce(g, "ReduceMax" if is_max else "ReduceMin", g.input(rec, 0), dims, keep)


# -- comparisons and logic (bool results NumPy computes directly, so captured whole) -----------

def _operands(g, rec) -> list:
    """Both operands with the dtype of the first tensor among them (ONNX does not promote)."""
    a, b = rec.args[0], rec.args[1]
    like = a if isinstance(a, Tensor) else b
    dt = like._data.dtype
    names = []
    for i, t in enumerate((a, b)):
        v = g.input(rec, i, dt)
        if isinstance(t, Tensor) and t._data.dtype != dt:
            v = g.node("Cast", [v], to=helper.np_dtype_to_tensor_dtype(dt))
        names.append(v)
    return names


def _compare(op_type: str, negate: bool = False):
    def convert(g, rec):
        out = g.node(op_type, _operands(g, rec))
        return g.node("Not", [out]) if negate else out
    return convert


def _methods(name: str) -> list:
    """The function ``name`` and the Tensor methods/dunders that run it."""
    from ..tensor import Tensor as _T
    return [getattr(_cmp, name)] + [v for k, v in _T.__dict__.items()
                                     if k in (name, f"__{name}__")]


for _name, _op, _neg in (("eq", "Equal", False), ("ne", "Equal", True), ("lt", "Less", False),
                         ("le", "LessOrEqual", False), ("gt", "Greater", False),
                         ("ge", "GreaterOrEqual", False), ("logical_and", "And", False),
                         ("logical_or", "Or", False), ("logical_xor", "Xor", False)):
    captured(*_methods(_name))(_compare(_op, _neg))


@captured(_cmp.logical_not)
def _logical_not(g, rec):
    x = g.input(rec, 0)
    if rec.args[0]._data.dtype != np.bool_:
        x = g.node("Cast", [x], to=helper.TensorProto.BOOL)
    return g.node("Not", [x])


def _bool_only(op_type: str):
    def convert(g, rec):
        if any(isinstance(t, Tensor) and t._data.dtype != np.bool_ for t in rec.args[:2]):
            raise OnnxExporterError(f"{rec.name}: bitwise ops on integer tensors are not "
                                    f"supported by gputensor.onnx (bool tensors are)")
        return g.node(op_type, [g.input(rec, i, np.bool_) for i in range(len(rec.args))])
    return convert


def _tensor_attrs(*names: str) -> list:
    from ..tensor import Tensor as _T
    return [_T.__dict__[n] for n in names if n in _T.__dict__]


for _name, _op in (("and", "And"), ("or", "Or"), ("xor", "Xor")):
    captured(getattr(_cmp, f"bitwise_{_name}"),
             *_tensor_attrs(f"bitwise_{_name}", f"__{_name}__", f"__r{_name}__"))(_bool_only(_op))
captured(_cmp.bitwise_not, *_tensor_attrs("bitwise_not", "__invert__"))(_bool_only("Not"))


def _masked_fill_fns() -> list:
    from ..ops import index_ops
    from ..tensor import Tensor as _T
    fn = index_ops.masked_fill
    return [fn] + [v for k, v in _T.__dict__.items() if k == "masked_fill" and v is not fn]


@captured(*_masked_fill_fns())
def _masked_fill(g, rec):
    """``x.masked_fill(mask, v)``: Where(mask, v, x) (ONNX broadcasts as torch does)."""
    p = rec.params()
    dt = p["input"]._data.dtype
    mask = g.param(rec, "mask", np.bool_)
    if p["mask"]._data.dtype != np.bool_:
        mask = g.node("Cast", [mask], to=helper.TensorProto.BOOL)
    value = g.param(rec, "value", dt)
    if isinstance(p["value"], Tensor) and p["value"]._data.dtype != dt:
        value = g.node("Cast", [value], to=helper.np_dtype_to_tensor_dtype(dt))
    return g.node("Where", [mask, value, g.param(rec, "input")])


# -- in-place writes ----------------------------------------------------------------------------

def _assign_fn():
    from ..tensor import Tensor as _T
    return _T.__dict__["_assign"]


@captured(_assign_fn())
def _assign(g, rec):
    """Every in-place op ends in ``self._assign(result)``: from here on the tensor stands for
    ``result``'s value. A write into a view would also change its base, which is refused."""
    target, result = rec.args[0], rec.args[1]
    base = target._base
    if base is not None and (g.is_graph_value(base) or g.is_graph_value(target)):
        raise OnnxExporterError(f"in-place write into a view of shape {list(target.shape)}: "
                                f"gputensor.onnx exports in-place ops on whole tensors only")
    name = g.input(rec, 1)
    dt = target._data.dtype
    if result._data.dtype != dt:
        name = g.node("Cast", [name], to=helper.np_dtype_to_tensor_dtype(dt))
    return name
