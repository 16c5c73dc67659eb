"""``gputensor.onnx.export``: write a model as an ONNX graph, like ``torch.onnx.export``.

The model runs once (twice when it can: see below) with an op tracer installed in
``Function.apply`` (see ``_trace``); each recorded op is converted by a converter registered
in ``_ops``, ``_ops_nn`` or ``_rnn`` into ONNX nodes (default opset 17). Parameters and buffers
become initializers named as in ``state_dict``; ops that only read constants are folded.

The second trace runs the model on inputs whose ``dynamic_axes`` are resized and whose values
are permuted: sizes that differ between the traces are computed at run time from the inputs'
shapes (so ``x.view(x.size(0), -1)`` or ``torch.zeros(2, x.size(0), h)`` follow the batch), and
a constant that differs is a value computed outside the traced ops, which export refuses.
"""
from __future__ import annotations

import enum
import os
import warnings

import numpy as np

from ..tensor import Tensor
from . import errors
from ._graph import Graph, find_converter, flat_tensors, to_numpy, _arrays
from ._trace import run_traced
from .errors import OnnxExporterError, UnsupportedOperatorError
from . import _ops, _ops_more, _ops_nn, _rnn  # noqa: F401  (register the converters)

__all__ = ["export", "TrainingMode", "errors", "OnnxExporterError", "UnsupportedOperatorError",
           "is_in_onnx_export"]

DEFAULT_OPSET = 17
_MIN_OPSET, _MAX_OPSET = 17, 21  # LayerNormalization needs 17; checked against onnxruntime
_exporting = False
_TORCH_OPTIONS = {"operator_export_type", "custom_opsets", "export_modules_as_functions",
                  "autograd_inlining", "dynamic_shapes", "external_data", "report", "optimize",
                  "verify", "profile", "dump_exported_program", "artifacts_dir",
                  "custom_translation_table"}


class TrainingMode(enum.IntEnum):
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


def is_in_onnx_export() -> bool:
    """True while ``export`` traces a model (as ``torch.onnx.is_in_onnx_export``)."""
    return _exporting


def _split_args(args) -> tuple:
    if isinstance(args, Tensor):
        return (args,), {}
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    if args and isinstance(args[-1], dict):
        return args[:-1], dict(args[-1])
    return args, {}


def _axes(spec) -> dict:
    """``{dim: name}`` from a dynamic_axes entry (a dict, or a list of dims named for you)."""
    return {int(d): str(n) for d, n in spec.items()} if isinstance(spec, dict) else \
        {int(d): None for d in spec}


def _resized(t: Tensor, axes: dict, sizes: dict, name: str) -> Tensor:
    """``t`` for the second trace: dynamic dims resized (cycling its slices), values permuted."""
    arr = to_numpy(t)
    for d, label in axes.items():
        d = d % arr.ndim
        key = label if label is not None else f"{name}_dynamic_axes_{d + 1}"
        new = sizes.setdefault(key, arr.shape[d] + 3)
        arr = np.take(arr, np.arange(new) % max(arr.shape[d], 1), axis=d)
    arr = np.ascontiguousarray(arr.reshape(-1)[::-1].reshape(arr.shape))
    out = Tensor._make(t._backend.from_numpy(arr) if t._device.type != "cpu" else arr, t._device)
    return out


def _align(records: list, alt: list) -> None:
    if len(records) != len(alt) or any(a.op is not b.op for a, b in zip(records, alt)):
        raise OnnxExporterError(
            "the model ran different ops when its dynamic axes were resized (or its input "
            "values changed): data-dependent control flow cannot be exported by tracing")
    for a, b in zip(records, alt):
        a.alt = b


def _foldable(g: Graph, rec) -> bool:
    """True when the op reads only constants that do not follow the dynamic axes."""
    mine = _arrays((rec.args, rec.kwargs))
    other = _arrays((rec.alt.args, rec.alt.kwargs)) if rec.alt is not None else mine
    if len(mine) != len(other):
        return False
    for a, b in zip(mine, other):
        if g.is_graph_value(a) or tuple(a.shape) != tuple(b.shape):
            return False
    if rec.alt is not None:  # ``param.expand(x.size(0), -1)``: constant in, batch-sized out
        outs, alts = flat_tensors(rec.out), flat_tensors(rec.alt.out)
        return all(tuple(a.shape) == tuple(b.shape) for a, b in zip(outs, alts))
    return True


def _rename(g: Graph, src: str, dst: str) -> None:
    for node in g.nodes:
        node.output[:] = [dst if o == src else o for o in node.output]
        node.input[:] = [dst if i == src else i for i in node.input]


def _run_traces(model, training, call: tuple, call_b: tuple, dynamic: bool) -> tuple:
    """(records, output, second trace's output or None), the mode set as ``training`` says
    (eval by default, as torch) and restored afterwards."""
    mode = getattr(model, "training", None)
    if hasattr(model, "train"):
        if training in (None, TrainingMode.EVAL, False):
            model.train(False)
        elif training in (TrainingMode.TRAINING, True):
            model.train(True)
    global _exporting
    _exporting = True
    try:
        records, out = run_traced(model, *call)
        try:
            alt_records, out_b = run_traced(model, *call_b)
            _align(records, alt_records)
        except Exception as e:
            if dynamic:
                if isinstance(e, OnnxExporterError):
                    raise
                raise OnnxExporterError(f"running the model with its dynamic axes resized "
                                        f"failed: {type(e).__name__}: {e}") from e
            warnings.warn(f"gputensor.onnx: the model ran different ops on other input values "
                          f"({e}); the graph exports the ops run for the given inputs",
                          stacklevel=3)
            for r in records:
                r.alt = None
            out_b = None
    finally:
        _exporting = False
        if mode is not None:
            model.train(mode)
    return records, out, out_b


def _convert(g: Graph, records: list) -> None:
    """Convert each record (folding those that read only constants), binding its outputs."""
    for rec in records:
        if _foldable(g, rec):
            continue
        conv = find_converter(rec.op)
        g.op_name = rec.name
        if conv is None:
            g.unsupported(rec)
        outs = conv(g, rec)
        outs = [outs] if isinstance(outs, str) else list(outs)
        fa = flat_tensors(rec.out)
        fb = flat_tensors(rec.alt.out) if rec.alt is not None else [None] * len(fa)
        for t, tb, n in zip(fa, fb, outs):
            if n:
                g.bind(t, n, tb)


def _name_outputs(g: Graph, outs_a: list, outs_b: list, out_names: list, used: set) -> None:
    """Give the graph outputs their names: the producing node's output is renamed, or an
    Identity added (an output that is an input, a constant, or already another output)."""
    import onnx
    produced = {o for node in g.nodes for o in node.output}
    g.op_name = "output"
    for t, tb, n in zip(outs_a, outs_b, out_names):
        src = g.value(t, tb)
        if src in produced and src not in used:
            _rename(g, src, n)
            produced.discard(src)
            g.bind(t, n)
        else:
            g.nodes.append(onnx.helper.make_node("Identity", [src], [n]))
        used.add(n)


def export(model, args=(), f=None, export_params: bool = True, verbose: bool = False,
           training=None, input_names=None, output_names=None, opset_version: int | None = None,
           do_constant_folding: bool = True, dynamic_axes=None,
           keep_initializers_as_inputs: bool | None = None, dynamo: bool = False,
           kwargs: dict | None = None, **options) -> None:
    """Trace ``model(*args)`` and write it to ``f`` (a path or a binary file object) as ONNX.

    ``args``: a tensor or a tuple of them, a trailing dict passing keyword arguments.
    ``dynamic_axes`` (``{"input": {0: "batch"}}`` or ``{"input": [0]}``) makes those dims of
    the named inputs/outputs symbolic. The model is traced in eval mode unless ``training``
    says otherwise (its mode is restored). Constants are always folded; ``dynamo`` and torch's
    other exporter options are accepted and have no effect. Ops without a conversion raise
    UnsupportedOperatorError; values that cannot be traced raise OnnxExporterError.
    """
    unknown = set(options) - _TORCH_OPTIONS
    if unknown:
        raise TypeError(f"export() got an unexpected keyword argument '{sorted(unknown)[0]}'")
    import onnx
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not _MIN_OPSET <= opset <= _MAX_OPSET:
        raise ValueError(f"gputensor.onnx.export supports opset versions {_MIN_OPSET} to "
                         f"{_MAX_OPSET}, got {opset}")
    pos, kw = _split_args(args)
    if kwargs:
        kw.update(kwargs)
    inputs = [t for t in pos if isinstance(t, Tensor)] + \
        [t for t in kw.values() if isinstance(t, Tensor)]
    names = list(input_names or [])
    in_names = [names[i] if i < len(names) else f"input.{i + 1}" for i in range(len(inputs))]
    dyn = {k: _axes(v) for k, v in (dynamic_axes or {}).items()}

    sizes: dict = {}
    swap = {id(t): _resized(t, dyn.get(n, {}), sizes, n) for t, n in zip(inputs, in_names)}
    pos_b = tuple(swap.get(id(a), a) for a in pos)
    kw_b = {k: swap.get(id(v), v) for k, v in kw.items()}

    records, out, out_b = _run_traces(model, training, (pos, kw), (pos_b, kw_b), bool(dyn))
    params = {}
    if hasattr(model, "named_parameters"):
        for pname, p in list(model.named_parameters()) + list(model.named_buffers()):
            params.setdefault(id(p), (pname, p))
    g = Graph(opset, params)
    for t, n in zip(inputs, in_names):
        g.bind(t, n, swap[id(t)])
    _convert(g, records)
    outs_a = flat_tensors(out)
    outs_b = flat_tensors(out_b) if out_b is not None else [None] * len(outs_a)
    names = list(output_names or [])
    out_names = [names[i] if i < len(names) else f"output.{i + 1}" if i else "output"
                 for i in range(len(outs_a))]
    _name_outputs(g, outs_a, outs_b, out_names, set(in_names))

    def dims(t, name):
        ax = dyn.get(name, {})
        return [(ax[d] or f"{name}_dynamic_axes_{d + 1}") if d in ax else int(s)
                for d, s in enumerate(t.shape)]
    m = g.model([(n, to_numpy(t), dims(t, n)) for t, n in zip(inputs, in_names)],
                [(n, to_numpy(t), dims(t, n)) for t, n in zip(outs_a, out_names)],
                "gputensor", export_params=export_params,
                initializers_as_inputs=bool(keep_initializers_as_inputs))
    onnx.checker.check_model(m)
    if verbose:
        print(onnx.helper.printable_graph(m.graph))
    data = m.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            fh.write(data)
    elif f is not None:
        f.write(data)
    return None
