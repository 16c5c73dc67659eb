"""Module backward hooks (``register_full_backward_hook`` / ``register_full_backward_pre_hook``).

As in torch, a call with hooks passes the module's tensor inputs and outputs through identity
Functions: the outputs' identity sees ``grad_output`` (pre-hooks may replace it), the inputs'
identity sees ``grad_input`` and runs the hooks, which may replace it. When no input requires
grad, the hooks run from the outputs' identity with ``grad_input`` all None.
"""
from __future__ import annotations

import warnings

from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...tensor import Tensor


class BackwardHookFunction(Function):
    """Identity on its tensors whose backward hands the gradients to ``callback``."""

    @staticmethod
    def forward(ctx, callback, *tensors):
        ctx.callback = callback
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return (None,) + tuple(ctx.callback(grads))


class BackwardHook:
    """The hooks' view of one module call."""

    def __init__(self, module, hooks: list, pre_hooks: list):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs = None
        self.n_inputs, self.input_index = 0, None

    @staticmethod
    def _wrap(values: tuple, callback):
        """``values`` with their tensors routed through one BackwardHookFunction (unchanged when
        none requires grad or grad mode is off); returns (values, indices of the tensors)."""
        index = [i for i, v in enumerate(values) if isinstance(v, Tensor)]
        if not is_grad_enabled() or not any(values[i].requires_grad for i in index):
            return values, None
        out = BackwardHookFunction.apply(callback, *[values[i] for i in index])
        values = list(values)
        for i, t in zip(index, out):
            values[i] = t
        return tuple(values), index

    def setup_input_hook(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        args, self.input_index = self._wrap(args, self._on_grad_input)
        return args

    def setup_output_hook(self, out):
        single = isinstance(out, Tensor)
        values, _ = self._wrap((out,) if single else tuple(out) if isinstance(out, tuple)
                               else (out,), self._on_grad_output)
        return values[0] if single or not isinstance(out, tuple) else type(out)(values)

    def _on_grad_output(self, grads: tuple) -> tuple:
        for hook in self.pre_hooks:
            res = hook(self.module, grads)
            if res is not None:
                res = res if isinstance(res, tuple) else (res,)
                if len(res) != len(grads):
                    raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                       f"grad_output, got {len(res)}, but expected {len(grads)}")
                grads = res
        self.grad_outputs = grads
        if self.input_index is None and self.hooks:  # no input needs a gradient: run them now
            warnings.warn("Full backward hook is firing when gradients are computed with respect "
                          "to module outputs since no inputs require gradients. See "
                          "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                          "#torch.nn.Module.register_full_backward_hook for more details.",
                          stacklevel=2)
            self._run_hooks((None,) * self.n_inputs)
        return grads

    def _on_grad_input(self, grads: tuple) -> tuple:
        grad_input = [None] * self.n_inputs
        for i, g in zip(self.input_index, grads):
            grad_input[i] = g
        grad_input = self._run_hooks(tuple(grad_input))
        return tuple(grad_input[i] for i in self.input_index)

    def _run_hooks(self, grad_input: tuple) -> tuple:
        for hook in self.hooks:
            res = hook(self.module, grad_input, self.grad_outputs)
            if res is None:
                continue
            res = res if isinstance(res, tuple) else (res,)
            if len(res) != len(grad_input):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got "
                                   f"{len(res)}, but expected {len(grad_input)}")
            grad_input = res
        return grad_input
