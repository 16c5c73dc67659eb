"""Building the ONNX graph from the two traces' records.

Every traced tensor gets an ONNX value name. A tensor no record produced is a parameter or
buffer (an initializer named as in ``state_dict``) or a constant; constants are compared with
their counterpart in the second trace (run with the dynamic axes resized and the input values
permuted): equal ones are initializers, same-valued ones whose shape follows a dynamic axis
become ``ConstantOfShape`` (``torch.zeros(n_layers, x.size(0), h)``), anything else depends on
the input through code that no traced op ran, and export refuses it rather than bake it in.

Sizes that differ between the two traces are dynamic: shape operands (Reshape targets, Slice
bounds, ConstantOfShape shapes) are computed at run time from ``Shape`` of a graph input with
the same size in both traces (times or divided by a constant where that matches).
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..tensor import Tensor
from .errors import OnnxExporterError, UnsupportedOperatorError

CONVERTERS: dict = {}  # Function class -> converter(g, rec)


def converter(*ops):
    """Register ``fn(g, rec)`` as the converter of Function classes (or captured ops)."""
    def deco(fn):
        for op in ops:
            CONVERTERS[op] = fn
        return fn
    return deco


BY_NAME: dict = {}  # (module, class name) -> converter, for generated Function classes


def converter_named(module: str, *names: str):
    """Register a converter for Function classes made by a factory (``_unary`` in
    ops/pointwise.py), which exist only as ``(module, name)``."""
    def deco(fn):
        for n in names:
            BY_NAME[(module, n)] = fn
        return fn
    return deco


def captured(*fns):
    """Register a converter for whole functions, which the tracer then records as one op."""
    from ._trace import CAPTURED_FUNCTIONS

    def deco(conv):
        for fn in fns:
            CAPTURED_FUNCTIONS[fn] = conv
        return converter(*fns)(conv)
    return deco


def find_converter(op):
    if isinstance(op, type):
        for c in op.__mro__:
            if c in CONVERTERS:
                return CONVERTERS[c]
            hit = BY_NAME.get((c.__module__, c.__name__))
            if hit is not None:
                return hit
        return None
    try:
        if op in CONVERTERS:
            return CONVERTERS[op]
    except TypeError:
        pass
    return find_converter(type(op))  # a captured module instance


def to_numpy(t) -> np.ndarray:
    if isinstance(t, Tensor):
        return np.asarray(t._backend.to_numpy(t._data)) if t._device.type != "cpu" \
            else np.asarray(t._data)
    if isinstance(t, np.ndarray):
        return t
    if hasattr(t, "get"):  # a CuPy array (an index key)
        return t.get()
    return np.asarray(t)


def flat_tensors(obj) -> list:
    """The tensors in a (nested) output, in order."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in flat_tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in flat_tensors(o)]
    return []


def _arrays(obj) -> list:
    """Tensors and index arrays anywhere in ``obj`` (op arguments, keys)."""
    if isinstance(obj, Tensor) or (hasattr(obj, "shape") and hasattr(obj, "dtype")
                                   and not np.isscalar(obj) and getattr(obj, "ndim", 0) > 0):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _arrays(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _arrays(o)]
    return []


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


class Graph:
    """Nodes, initializers and the tensor -> value-name map of the model being exported."""

    def __init__(self, opset: int, params: dict):
        self.opset = opset
        self.nodes: list = []
        self.inits: dict = {}  # name -> ndarray
        self._names: dict = {}  # id(tensor or its array) -> value name
        self._keep: list = []  # what _names refers to, kept alive so ids stay unique
        self._params = params  # id(param/buffer) -> (name, tensor)
        self._scalars: dict = {}
        self._dims: dict = {}
        self.sources: list = []  # (name, shape A, shape B) whose dims can give dynamic sizes
        self._count = 0
        self.op_name = ""  # the op being converted (for error messages)

    # -- names -------------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"/{hint}_{self._count}"

    def bind(self, t, name: str, alt=None) -> None:
        """``t`` (and its array: index keys carry arrays) is value ``name`` from now on."""
        self._names[id(t)] = name
        self._keep.append(t)
        if isinstance(t, Tensor):
            self._names[id(t._data)] = name
            self._keep.append(t._data)
            if alt is not None and isinstance(alt, Tensor) and alt.shape != t.shape:
                self.sources.append((name, tuple(t.shape), tuple(alt.shape)))

    def lookup(self, t) -> str | None:
        return self._names.get(id(t))

    def is_graph_value(self, t) -> bool:
        return id(t) in self._names

    # -- nodes and constants -----------------------------------------------------------------
    def node(self, op_type: str, inputs: list, n_out: int = 1, **attrs):
        """Add a node; returns its output name (a list of them when ``n_out`` > 1)."""
        outs = [self.fresh(f"{op_type}_out") for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs,
                                           name=self.fresh(op_type)[1:], **attrs))
        return outs if n_out > 1 else outs[0]

    def const(self, array, hint: str = "const") -> str:
        array = np.asarray(array)
        small = array.size <= 16
        key = (array.dtype.str, array.shape, array.tobytes()) if small else None
        if key is not None and key in self._scalars:
            return self._scalars[key]
        name = self.fresh(hint)[1:]
        self.inits[name] = array if array.flags.c_contiguous else array.copy()
        if key is not None:
            self._scalars[key] = name
        return name

    def ints(self, values) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64), "ints")

    def value(self, t, alt=None, dtype=None) -> str:
        """The value name of operand ``t`` (a tensor, an index array or a scalar): a graph
        value, a parameter, or a constant checked against ``alt`` from the second trace."""
        if t is None:
            return ""
        if not isinstance(t, Tensor) and not hasattr(t, "dtype") or np.isscalar(t) or (
                isinstance(t, np.generic)):
            arr = np.asarray(t, dtype=dtype)
            return self.const(arr, "scalar")
        name = self._names.get(id(t))
        if name is not None:
            return name
        p = self._params.get(id(t))
        if p is not None:
            pname, tensor = p
            if pname not in self.inits:
                self.inits[pname] = to_numpy(tensor)
            return pname
        arr = to_numpy(t)
        if dtype is not None and arr.dtype != dtype:
            arr = arr.astype(dtype)
        if alt is None:
            return self.const(arr)
        other = to_numpy(alt)
        if other.shape == arr.shape:
            if _same(arr, other.astype(arr.dtype, copy=False)):
                return self.const(arr)
        elif arr.size and other.size and arr.ndim == other.ndim:
            flat = arr.reshape(-1)
            if (flat == flat[0]).all() and (other.reshape(-1) == flat[0]).all():
                return self.node("ConstantOfShape", [self.shape_vec(arr.shape, other.shape)],
                                 value=numpy_helper.from_array(flat[:1].copy()))
            rng = self._arange(arr, other)
            if rng is not None:
                return rng
        raise OnnxExporterError(
            f"{self.op_name}: an operand of shape {list(arr.shape)} ({arr.dtype}) depends on the "
            f"model's inputs but was computed outside the traced ops (for instance by a "
            f"comparison, in NumPy, or from random numbers); gputensor.onnx cannot export it")

    def param(self, rec, name: str, dtype=None) -> str:
        """The value of a captured function's argument ``name`` (positional or keyword)."""
        alt = rec.alt.params()[name] if rec.alt is not None else None
        return self.value(rec.params()[name], alt, dtype)

    def _arange(self, a: np.ndarray, b: np.ndarray) -> str | None:
        """A Range node for ``torch.arange(n)``-like constants whose length follows a dynamic
        axis (position ids); None if ``a``/``b`` are not one arithmetic progression."""
        if a.ndim != 1 or a.dtype.kind not in "iuf" or not len(a) or not len(b):
            return None
        longer = a if len(a) > len(b) else b
        start, step = longer[0], longer[1] - longer[0]
        for arr in (a, b):
            if not np.array_equal(arr, start + step * np.arange(len(arr), dtype=arr.dtype)):
                return None
        n = self.dim(len(a), len(b))
        if a.dtype != np.int64:
            n = self.node("Cast", [n], to=helper.np_dtype_to_tensor_dtype(a.dtype))
        stop = self.node("Add", [self.node("Mul", [n, self.const(np.asarray([step], a.dtype))]),
                                 self.const(np.asarray([start], a.dtype))])
        stop = self.node("Squeeze", [stop, self.ints([0])])
        return self.node("Range", [self.const(np.asarray(start, a.dtype)), stop,
                                   self.const(np.asarray(step, a.dtype))])

    def input(self, rec, i: int, dtype=None) -> str:
        alt = rec.alt.args[i] if rec.alt is not None else None
        return self.value(rec.args[i], alt, dtype)

    # -- dynamic sizes -----------------------------------------------------------------------
    def _source_dim(self, name: str, d: int) -> str:
        key = (name, d)
        if key not in self._dims:
            self._dims[key] = self.node("Shape", [name], start=d, end=d + 1)
        return self._dims[key]

    def dim(self, a: int, b: int | None) -> str:
        """A 1-D int64 [1] value: ``a`` in this trace, ``b`` in the other, at run time."""
        if b is None or a == b:
            return self.ints([a])
        for name, sa, sb in self.sources:
            for d, (ia, ib) in enumerate(zip(sa, sb)):
                if ia != ib and (ia, ib) == (a, b):
                    return self._source_dim(name, d)
        for name, sa, sb in self.sources:
            for d, (ia, ib) in enumerate(zip(sa, sb)):
                if ia == ib or not ia or not ib:
                    continue
                if a % ia == 0 and b * ia == a * ib:
                    return self.node("Mul", [self._source_dim(name, d), self.ints([a // ia])])
                if a and b and ia % a == 0 and ib % b == 0 and ia // a == ib // b:
                    return self.node("Div", [self._source_dim(name, d), self.ints([ia // a])])
        for name, sa, sb in self.sources:
            for d, (ia, ib) in enumerate(zip(sa, sb)):
                if ia != ib and a - ia == b - ib:
                    return self.node("Add", [self._source_dim(name, d), self.ints([a - ia])])
        raise OnnxExporterError(f"{self.op_name}: cannot express a size that is {a} in the traced "
                                f"run and {b} with resized dynamic axes from the inputs' sizes")

    def shape_vec(self, sa, sb) -> str:
        """A 1-D int64 shape value for ``sa`` (``sb`` in the other trace)."""
        sa = tuple(int(s) for s in sa)
        if sb is None or tuple(sb) == sa:
            return self.ints(sa)
        if len(sa) != len(sb):
            raise OnnxExporterError(f"{self.op_name}: rank changes with the dynamic axes")
        return self.node("Concat", [self.dim(a, b) for a, b in zip(sa, sb)], axis=0)

    def unsupported(self, rec):
        name = rec.name
        raise UnsupportedOperatorError(f"aten::{name.lower()}", self.opset, None)

    # -- model -------------------------------------------------------------------------------
    def prune(self, outputs: list) -> None:
        """Drop nodes and initializers nothing reaches the outputs from (a recurrence's unused
        final states, folded-away parameters)."""
        needed, kept = set(outputs), []
        for node in reversed(self.nodes):
            if any(o in needed for o in node.output):
                kept.append(node)
                needed.update(i for i in node.input if i)
        self.nodes = kept[::-1]
        self.inits = {n: a for n, a in self.inits.items() if n in needed}

    def model(self, inputs: list, outputs: list, producer: str, export_params: bool = True,
              initializers_as_inputs: bool = False) -> onnx.ModelProto:
        """``inputs``/``outputs``: (name, ndarray, dims with dim_param strings). Without
        ``export_params`` parameters and buffers are graph inputs with no stored values."""
        self.prune([o[0] for o in outputs])

        def info(name, arr, dims):
            elem = helper.np_dtype_to_tensor_dtype(arr.dtype)
            return helper.make_tensor_value_info(name, elem, list(dims))
        param_names = {n for n, _ in self._params.values()}
        inits = dict(self.inits)
        extra = []
        if not export_params:
            extra = [(n, a, a.shape) for n, a in inits.items() if n in param_names]
            inits = {n: a for n, a in inits.items() if n not in param_names}
        if initializers_as_inputs:
            extra += [(n, a, a.shape) for n, a in inits.items()]
        graph = helper.make_graph(
            self.nodes, "main_graph", [info(*i) for i in list(inputs) + extra],
            [info(*o) for o in outputs],
            initializer=[numpy_helper.from_array(a, n) for n, a in inits.items()])
        m = helper.make_model(graph, producer_name=producer,
                              opset_imports=[helper.make_opsetid("", self.opset)])
        m.ir_version = helper.find_min_ir_version_for(list(m.opset_import))
        return m
