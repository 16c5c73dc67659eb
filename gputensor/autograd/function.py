"""``Function``: an op with ``forward(ctx, ...)`` and ``backward(ctx, *grads)``, like torch's.

``forward`` runs with grad recording off and returns tensors; ``backward`` receives and returns
tensors, computed with ordinary (differentiable) tensor ops, so ``create_graph=True`` yields
higher-order gradients for free. The ``ctx`` passed to both is the graph node itself: an instance
of a per-Function ``Node`` subclass named like torch's (``MulBackward0``, ``MyFnBackward``).
"""
from __future__ import annotations

import functools
import weakref

import numpy as np

from . import anomaly_mode, grad_mode
from ..backends import enter_device, exit_device

_state = grad_mode._state
Tensor = None  # gputensor.tensor sets it once the class exists (it imports this package first)
# Set by gputensor.onnx while it traces a model (None otherwise: one check per op): every
# ``apply`` then calls ``_tracer.begin(ctx)`` before and ``_tracer.end(cls, ctx, args, kwargs,
# out)`` after its forward, with or without grad recording.
_tracer = None


def _quiet_numpy():
    """``(enter, exit)`` that silence NumPy's floating-point warnings around an op's forward:
    torch returns inf/nan silently (``x / 0``, ``log(0)``, overflow in a cast), so NumPy's
    RuntimeWarnings must not reach users. NumPy 2 keeps its error state in a context variable;
    setting it directly costs ~0.15 us per op where ``np.errstate`` costs ~1 us."""
    try:
        from numpy._core import _ufunc_config
        var = _ufunc_config._extobj_contextvar
        with np.errstate(all="ignore"):
            ignore = var.get()
        return functools.partial(var.set, ignore), var.reset  # C callables: no Python frame
    except (ImportError, AttributeError):  # another NumPy layout: the public, slower way
        def enter():
            ctx = np.errstate(all="ignore")
            ctx.__enter__()
            return ctx
        return enter, lambda ctx: ctx.__exit__(None, None, None)


_quiet_enter, _quiet_exit = _quiet_numpy()


class Node:
    """A node of the backward graph; also the ``ctx`` of the Function that created it.

    ``_edges[i]`` is ``(node, output_nr, np_dtype, shape)`` for input ``i`` when it requires grad,
    else None (the engine casts and checks each gradient against it). Leaves are reached through
    an ``AccumulateGrad`` node kept per leaf tensor. Rarely set attributes are class defaults so a
    node costs one small ``__dict__``.
    """

    _fn = None
    _edges = ()
    needs_input_grad = ()
    _saved = None
    _released = False
    _non_diff = None
    _dirty = None
    _pre_hooks = None  # {output_nr: [hook]} from Tensor.register_hook on outputs
    _retained = None  # {output_nr: weakref(tensor)} from Tensor.retain_grad
    _out_meta = None  # (shape, np_dtype, device) per output of multi-output nodes
    materialize_grads = True
    _n_outputs = 1
    _recording = False  # set while the Function's forward builds a graph node

    # -- ctx API -----------------------------------------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        if not self._recording:  # forward under no_grad (or of inputs needing none): no graph
            return
        saved = []
        for t in tensors:  # a loop: a generator would be a Python frame of its own
            saved.append((t, t._version.value) if t is not None else (None, 0))
        self._saved = tuple(saved)

    @property
    def saved_tensors(self) -> tuple:
        if self._released:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or "
                "if you need to access saved tensors after calling backward.")
        if self._saved is None:
            return ()
        out = []
        for t, v in self._saved:
            if t is not None and t._version.value != v:
                self._stale(len(out))
            out.append(t)
        return tuple(out)

    def _stale(self, i: int):
        t, v = self._saved[i]
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by "
            f"an inplace operation: [{t.dtype.name} tensor of shape {list(t.shape)} on "
            f"{t.device}], saved by {self.name()} as its tensor {i}, is at version "
            f"{t._version.value}; expected version {v} instead.")

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff = {id(t) for t in tensors}

    def mark_dirty(self, *tensors) -> None:
        """Declare inputs that ``forward`` modified in place (they are rebased onto this node)."""
        self._dirty = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)

    # -- graph API ---------------------------------------------------------------------------
    @classmethod
    def name(cls) -> str:
        return cls.__name__

    @property
    def next_functions(self) -> tuple:
        """``((node, output_nr) | (None, 0), ...)`` per forward input, as torch shows them."""
        return tuple((e[0], e[1]) if e is not None else (None, 0) for e in self._edges)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    def apply(self, *grads):
        out = self._fn.backward(self, *grads)
        if anomaly_mode._enabled and anomaly_mode._check_nan:
            anomaly_mode.check_outputs(self, out)
        return out

    def release(self) -> None:
        if self._saved is not None:
            self._saved = None
            self._released = True

    def register_hook(self, hook) -> None:
        raise NotImplementedError("hooks on graph nodes are not supported; use Tensor.register_hook")


class AccumulateGrad(Node):
    """Terminal node for a leaf tensor: runs its hooks and adds the gradient into ``.grad``."""

    def __init__(self, variable):
        self.variable = variable


def accumulator_of(leaf) -> AccumulateGrad:
    """The leaf's AccumulateGrad node, shared by every use of the leaf while a graph holds it."""
    ref = leaf._grad_acc
    node = ref() if ref is not None else None
    if node is None:
        node = object.__new__(AccumulateGrad)  # AccumulateGrad(leaf), without its frame
        node.variable = leaf
        leaf._grad_acc = weakref.ref(node)
    return node


def _edge(t):
    """The edge to input ``t``'s grad_fn (its AccumulateGrad for a leaf), None if it needs none;
    taken before ``forward`` runs, so an input modified in place keeps its earlier history."""
    if t._requires_grad:
        fn = t._grad_fn
        data = t._data
        return (accumulator_of(t) if fn is None else fn, t._output_nr, data.dtype, data.shape)
    return None


def _node_class(fn_cls) -> type:
    """The Node subclass for a Function: ``MulBackward0`` for built-ins, ``FooBackward`` for
    users' Functions (torch's naming), or the Function's ``_torch_name`` (a subclass that only
    renames, e.g. ``View(Reshape)`` -> ``ViewBackward0``); created once per Function class."""
    node_cls = fn_cls.__dict__.get("_node_cls")
    if node_cls is None:
        builtin = fn_cls.__module__.startswith("gputensor.")
        name = fn_cls.__dict__.get("_torch_name") or \
            f"{fn_cls.__name__}Backward{'0' if builtin else ''}"
        node_cls = type(name, (Node,), {"_fn": fn_cls, "__module__": fn_cls.__module__})
        fn_cls._node_cls = node_cls
    return node_cls


class Function:
    """Base class for differentiable ops (built-in and user-defined).

    Subclass with ``@staticmethod forward(ctx, *args)`` and ``@staticmethod backward(ctx, *grads)``
    and call ``MyFn.apply(*args)``. ``backward`` returns one gradient (or None) per forward input.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError

    @staticmethod
    def setup_context(ctx, inputs: tuple, output):
        """Override (with a ``forward(*args)`` that takes no ctx) to save what backward needs
        from the inputs and the output: torch's newer style of custom Function."""
        raise NotImplementedError

    # Optional ``_lean(*args, **kwargs)``: the forward's result computed straight on the
    # arrays, without ctx; ``apply`` calls it instead of ``forward`` when no graph node is
    # recorded (grad mode off or no input requires grad) and no ONNX trace runs. It must
    # return what ``forward`` returns. A subclass that defines its own ``forward`` (or
    # ``setup_context``) without a ``_lean`` gets None (``__init_subclass__``).
    _lean = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        if ("forward" in own or "setup_context" in own) and "_lean" not in own:
            cls._lean = None
        _node_class(cls)  # now, so ``apply`` reads ``cls._node_cls`` without a dict lookup

    @classmethod
    def apply(cls, *args, **kwargs):
        needs = False
        dev = None
        for a in args:
            if isinstance(a, Tensor):
                d = a._device
                if dev is None:
                    dev = d
                elif d is not dev and d != dev:
                    raise RuntimeError(
                        "Expected all tensors to be on the same device, but found at least two "
                        f"devices, {dev} and {d}! (in {cls.__name__})")
                if a._requires_grad:
                    needs = True
        lean = cls._lean
        if lean is not None and _tracer is None and not (needs and _state.enabled):
            # the lean path: no graph node, nothing saved, no grad-mode switch
            quiet = _quiet_enter()
            restore = enter_device(dev) if dev is not None and dev.type == "cuda" else None
            try:
                return lean(*args, **kwargs)
            except ValueError as e:  # NumPy/CuPy broadcast failures -> torch's RuntimeError
                from .._errors import translate
                raise translate(e, args) from None
            finally:
                _quiet_exit(quiet)
                if restore is not None:
                    exit_device(restore)
        return _apply_node(cls, args, kwargs, needs and _state.enabled, dev)


def _apply_node(cls, args: tuple, kwargs: dict, needs: bool, dev):
    """``apply`` through ``forward(ctx, ...)``; records ``ctx`` as the outputs' grad_fn when
    ``needs``."""
    node_cls = cls._node_cls if "_node_cls" in cls.__dict__ else _node_class(cls)
    ctx = node_cls()
    tracer = _tracer
    if tracer is not None:
        tracer.begin(ctx)
    if needs:
        ctx._recording = True
        edges = []
        flags = []
        for a in args:  # _edge, inlined (no comprehension: each is a Python frame on 3.11)
            if isinstance(a, Tensor) and a._requires_grad:
                fn = a._grad_fn
                data = a._data
                edges.append((accumulator_of(a) if fn is None else fn, a._output_nr,
                              data.dtype, data.shape))
                flags.append(True)
            else:
                edges.append(None)
                flags.append(False)
        ctx._edges = tuple(edges)
        ctx.needs_input_grad = tuple(flags)
    else:
        ctx.needs_input_grad = (False,) * len(args)
    prev = _state.enabled
    _state.enabled = False
    quiet = _quiet_enter()
    restore = enter_device(dev) if dev is not None and dev.type == "cuda" else None
    try:
        if cls.setup_context is _base_setup_context:
            out = cls.forward(ctx, *args, **kwargs)
        else:
            out = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, out)
    except ValueError as e:  # NumPy/CuPy broadcast failures -> torch's RuntimeError
        from .._errors import translate
        raise translate(e, args) from None
    finally:
        _state.enabled = prev
        _quiet_exit(quiet)
        if restore is not None:
            exit_device(restore)
    if needs:
        if isinstance(out, tuple):
            out = _connect(ctx, args, out)
        elif (isinstance(out, Tensor) and out._data.dtype.kind == "f" and ctx._non_diff is None
              and ctx._dirty is None):
            for a in args:
                if a is out:  # an input returned as is: _attach gives it its own tensor
                    out = _attach(ctx, out, 0, args)
                    break
            else:  # _attach's common case, inlined: a new floating tensor
                out._grad_fn = ctx
                out._output_nr = 0
                out._requires_grad = True
        else:
            out = _attach(ctx, out, 0, args)
    if tracer is not None:
        tracer.end(cls, ctx, args, kwargs, out)
    return out


_base_setup_context = Function.setup_context


def once_differentiable(fn):
    """Decorator for a custom Function's ``backward`` that is not itself differentiable: it
    runs without recording a graph (torch's ``torch.autograd.function.once_differentiable``)."""
    @functools.wraps(fn)
    def wrapper(ctx, *args):
        prev = _state.enabled
        _state.enabled = False
        try:
            return fn(ctx, *args)
        finally:
            _state.enabled = prev
    return wrapper


def _connect(ctx: Node, args: tuple, out):
    """Record ``ctx`` as the grad_fn of ``out``'s floating-point tensors (``out`` may be a tuple)."""
    if not isinstance(out, tuple):
        return _attach(ctx, out, 0, args)
    ctx._n_outputs = len(out)
    # to materialize zeros for outputs that get no gradient
    ctx._out_meta = tuple((o._data.shape, o._data.dtype, o._device)
                          if isinstance(o, Tensor) else None for o in out)
    return tuple([_attach(ctx, o, i, args) for i, o in enumerate(out)])


def _attach(ctx: Node, o, nr: int, args: tuple):
    """Make ``o``, output ``nr`` of ``ctx``, differentiable (unless it is not a floating tensor
    or was marked non-differentiable); returns the tensor to hand out."""
    if not isinstance(o, Tensor) or o._data.dtype.kind != "f" or (
            ctx._non_diff is not None and id(o) in ctx._non_diff):
        return o
    if ctx._dirty is not None and id(o) in ctx._dirty:
        o._check_inplace()
        o._version.value += 1
    else:
        for a in args:
            if a is o:  # returned an input as is: give it its own tensor
                o = o._view_of(o._data)
                break
    o._grad_fn = ctx
    o._output_nr = nr
    o._requires_grad = True
    return o
