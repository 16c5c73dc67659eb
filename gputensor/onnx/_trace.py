"""Recording the ops a model runs, for ``export``.

Three kinds of record, innermost dropped when an outer one completes:

* every ``Function.apply`` (the autograd layer calls ``_tracer.begin(ctx)`` / ``end(...)`` when
  ``gputensor.autograd.function._tracer`` is set; ``ctx`` carries the op's attributes);
* *captured functions* (``CAPTURED_FUNCTIONS``), patched while tracing in every gputensor module
  that holds them: ops whose attributes live only in closures (pooling) or that compute masks
  from data outside any Function (elu, leaky_relu, softplus, hardtanh, attention masks);
* *captured modules* (``CAPTURED_MODULES``: nn.LSTM/GRU/RNN), whose instances get a wrapping
  ``forward`` so a recurrence becomes one ONNX LSTM/GRU/RNN node rather than unrolled steps.

A record made inside another op's forward is dropped when the outer op ends, so each record is
one whole op as the model called it. Views, reshapes, indexing and cat are Functions too; their
size arguments arrive already resolved (``view(-1, 2304)`` as ``(2, 2304)``), so which sizes
follow a dynamic axis is read off a second trace (see ``_graph``). In-place ops all end in
``Tensor._assign``, captured so the tensor then stands for the new value.

The patches are process-wide while a trace runs (like torch's exporter state): do not trace
from two threads at once.
"""
from __future__ import annotations

import functools
import inspect
import sys

from ..autograd import function as _function
from ..autograd.grad_mode import no_grad

CAPTURED_FUNCTIONS: dict = {}  # original function -> converter (filled by the converters)
CAPTURED_MODULES: dict = {}  # module class -> converter


class Record:
    """One op: ``op`` (a Function class, a captured function or module), what it was called
    with and what it returned; ``alt`` is the same op in the second trace (or None)."""

    __slots__ = ("op", "ctx", "args", "kwargs", "out", "alt")

    def __init__(self, op, ctx, args, kwargs, out):
        self.op, self.ctx, self.args, self.kwargs, self.out = op, ctx, args, kwargs, out
        self.alt = None

    def params(self) -> dict:
        """A captured function's / module forward's arguments by name, defaults filled in."""
        module = not inspect.isfunction(self.op)
        fn = type(self.op).forward if module else self.op
        args = (self.op,) + tuple(self.args) if module else self.args
        bound = inspect.signature(fn).bind(*args, **self.kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)

    @property
    def name(self) -> str:
        return self.op.__name__ if hasattr(self.op, "__name__") else type(self.op).__name__


class Tracer:
    """Collects records; ``begin``/``end`` nest, so ops run inside an op's forward are dropped."""

    def __init__(self):
        self.records: list = []
        self._marks: list = []

    def begin(self, key) -> None:
        self._marks.append((key, len(self.records)))

    def _close(self, key) -> int:
        marks = self._marks
        while marks:  # an op that raised leaves its mark behind: skip such marks
            k, n = marks.pop()
            if k is key:
                return n
        return len(self.records)

    def end(self, cls, ctx, args, kwargs, out) -> None:
        n = self._close(ctx)
        del self.records[n:]
        self.records.append(Record(cls, ctx, args, kwargs, out))

    def end_capture(self, key, op, args, kwargs, out) -> None:
        n = self._close(key)
        del self.records[n:]
        self.records.append(Record(op, None, args, kwargs, out))


def _capturing(fn, op):
    """``fn`` recorded as one op ``op`` while a tracer is set; unchanged behaviour otherwise."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        tracer = _function._tracer
        if tracer is None:
            return fn(*args, **kwargs)
        key = object()
        tracer.begin(key)
        out = fn(*args, **kwargs)
        tracer.end_capture(key, op, args, kwargs, out)
        return out
    wrapper._onnx_original = fn
    return wrapper


class _Patches:
    """Installs the captures for one trace and undoes them (also on error)."""

    def __init__(self, model):
        self.model = model
        self.undo: list = []

    def __enter__(self):
        from ..tensor import Tensor
        spaces = [m for name, m in list(sys.modules.items())
                  if name.startswith("gputensor") and m is not None] + [Tensor]
        mods = self.model.modules() if hasattr(self.model, "modules") else [self.model]
        for m in mods:  # the model's own modules may have imported captured functions
            home = sys.modules.get(type(m).__module__)
            if home is not None and home not in spaces:
                spaces.append(home)
        for mod in spaces:  # modules, and Tensor for methods such as ``__gt__``
            d = getattr(mod, "__dict__", {})
            for name, value in list(d.items()):
                try:
                    hit = callable(value) and value in CAPTURED_FUNCTIONS
                except TypeError:  # an unhashable callable
                    hit = False
                if hit:
                    setattr(mod, name, _capturing(value, value))
                    self.undo.append((mod, name, value))
        for m in self.model.modules() if hasattr(self.model, "modules") else ():
            if type(m) in CAPTURED_MODULES:
                had = m.__dict__.get("forward")
                bound = type(m).forward.__get__(m)
                m.__dict__["forward"] = _capturing(bound, m)
                self.undo.append((m, None, had))
        return self

    def __exit__(self, *exc):
        for obj, name, value in reversed(self.undo):
            if name is None:
                if value is None:
                    obj.__dict__.pop("forward", None)
                else:
                    obj.__dict__["forward"] = value
            else:
                setattr(obj, name, value)
        return False


def run_traced(model, args: tuple, kwargs: dict):
    """Run ``model(*args, **kwargs)`` once without grad, recording its ops: (records, output)."""
    tracer = Tracer()
    with _Patches(model), no_grad():
        _function._tracer = tracer
        try:
            out = model(*args, **kwargs)
        finally:
            _function._tracer = None
    return tracer.records, out
