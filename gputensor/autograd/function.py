"""``Function``: an op with ``forward(ctx, ...)`` and ``backward(ctx, *grads)``, like torch's.

``forward`` runs with grad recording off and returns tensors; ``backward`` receives and returns
tensors, computed with ordinary (differentiable) tensor ops, so ``create_graph=True`` yields
higher-order gradients for free. The ``ctx`` passed to both is the graph node itself.
"""
from __future__ import annotations

import weakref

from . import grad_mode


class Node:
    """A node of the backward graph; also the ``ctx`` of the Function that created it.

    ``next_functions[i]`` is ``(node, output_nr, dtype)`` for input ``i`` when it requires grad,
    else None. Leaves are reached through an ``AccumulateGrad`` node kept per leaf tensor.
    """

    def __init__(self, fn=None):
        self._fn = fn
        self.next_functions = ()
        self.needs_input_grad = ()
        self._saved = None
        self._released = False
        self._non_diff = None
        self._pre_hooks = None  # {output_nr: [hook]} from Tensor.register_hook on outputs
        self._retained = None  # {output_nr: weakref(tensor)} from Tensor.retain_grad
        self.materialize_grads = True
        self._n_outputs = 1

    # -- ctx API -----------------------------------------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        self._saved = tuple((t, t._version.value) if t is not None else (None, 0) for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._released:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time.")
        if self._saved is None:
            return ()
        for i, (t, v) in enumerate(self._saved):
            if t is not None and t._version.value != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{t.dtype.name} tensor of shape {list(t.shape)} on "
                    f"{t.device}], saved by {self.name()} (input/output {i}), is at version "
                    f"{t._version.value}; expected version {v} instead.")
        return tuple(t for t, _ in self._saved)

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff = {id(t) for t in tensors}

    def mark_dirty(self, *tensors) -> None:
        """Accepted for torch compatibility; in-place forward outputs need no extra handling."""

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)

    # -- graph API ---------------------------------------------------------------------------
    def name(self) -> str:
        return f"{self._fn.__name__}Backward0" if self._fn is not None else type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    def apply(self, *grads):
        return self._fn.backward(self, *grads)

    def release(self) -> None:
        if self._saved is not None:
            self._saved = None
            self._released = True

    def register_hook(self, hook) -> None:
        raise NotImplementedError("hooks on graph nodes are not supported; use Tensor.register_hook")


class AccumulateGrad(Node):
    """Terminal node for a leaf tensor: runs its hooks and adds the gradient into ``.grad``."""

    def __init__(self, variable):
        super().__init__(None)
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"


def accumulator_of(leaf) -> AccumulateGrad:
    """The leaf's AccumulateGrad node, shared by every use of the leaf while a graph holds it."""
    ref = leaf._grad_acc
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(leaf)
        leaf._grad_acc = weakref.ref(node)
    return node


def _edge(t):
    if t.requires_grad:
        fn = t._grad_fn
        if fn is None:
            return (accumulator_of(t), 0, t._dtype())
        return (fn, t._output_nr, t._dtype())
    return None


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

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor

        needs = False
        dev = None
        for a in args:
            if isinstance(a, Tensor):
                if dev is None:
                    dev = a._device
                elif a._device is not dev and a._device != dev:
                    raise RuntimeError(
                        f"{cls.__name__}: expected all tensors to be on the same device, but "
                        f"found at least two devices, {dev} and {a._device}!")
                if a.requires_grad:
                    needs = True
        needs = needs and grad_mode.is_grad_enabled()
        ctx = Node(cls)
        if needs:
            ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        else:
            ctx.needs_input_grad = (False,) * len(args)
        prev = grad_mode.is_grad_enabled()
        grad_mode._set(False)
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            grad_mode._set(prev)
        if needs:
            ctx.next_functions = tuple(_edge(a) if isinstance(a, Tensor) else None for a in args)
            outs = out if isinstance(out, tuple) else (out,)
            non_diff = ctx._non_diff
            for i, o in enumerate(outs):
                if isinstance(o, Tensor) and o._dtype().is_floating_point and (
                        non_diff is None or id(o) not in non_diff):
                    o._grad_fn = ctx
                    o._output_nr = i
                    o._requires_grad = True
            ctx._n_outputs = len(outs)
            if len(outs) > 1:  # to materialize zeros for outputs that get no gradient
                ctx._out_meta = tuple((o._data.shape, o._data.dtype, o._device) for o in outs)
        return out
