"""``Optimizer``: parameter groups, per-parameter state and torch-format state dicts.

Subclasses implement ``_update(group, p, grad, state)`` on raw backend arrays; the base class
walks the groups under ``no_grad``, skips parameters without a gradient and bumps each updated
parameter's version counter (so a graph that saved the old value refuses to backprop).
Optimizers with ``foreach`` / ``fused`` paths override ``_step_group`` (see ``_multi``).
"""
from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as np

from .._device import CPU
from ..autograd import enable_grad, no_grad
from ..backends import enter_device, exit_device
from ..tensor import Tensor


class _Required:
    """Sentinel for a hyper-parameter that has no default (must be given per group)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    def __init__(self, params: Iterable, defaults: dict[str, Any]):
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {params.type()}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group; hyper-parameters it leaves out take the optimizer's defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g = p.grad.detach()
                    g._data[...] = 0
                    g._version.value += 1
                    p.grad = g

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        # updates run on raw arrays (not through Function.apply): silence NumPy's
        # floating-point warnings as torch does (``eps=0`` with a zero gradient gives nan)
        with no_grad(), np.errstate(all="ignore"):
            for group in self.param_groups:
                params, grads = [], []
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if g._device is not p._device and g._device != p._device:
                        raise RuntimeError(f"parameter on {p.device} has a gradient on "
                                           f"{g.device}")
                    params.append(p)
                    grads.append(g)
                if params:
                    self._step_group(group, params, grads)
        return loss

    def _step_group(self, group: dict, params: list, grads: list) -> None:
        """Update ``params`` (those of ``group`` with a gradient, ``grads`` their gradients); the
        default walks them one at a time. Multi-tensor optimizers override it to take the
        foreach / fused paths."""
        for p, g in zip(params, grads):
            restore = enter_device(p._device)  # raw arrays: on p's device
            try:
                self._update(group, p, g._data, self.state[p])
            finally:
                exit_device(restore)
            p._version.value += 1

    def _update(self, group: dict, p: Tensor, grad, state: dict) -> None:
        raise NotImplementedError

    # -- state dicts ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore groups' hyper-parameters and per-parameter state (moved to each param's device)."""
        state_dict = copy.deepcopy(state_dict)
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             f"({len(saved)} vs {len(self.param_groups)})")
        for mine, theirs in zip(self.param_groups, saved):
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 f"match the size of optimizer's group ({len(theirs['params'])} "
                                 f"vs {len(mine['params'])} parameters)")
        by_index = {i: p for mine, theirs in zip(self.param_groups, saved)
                    for i, p in zip(theirs["params"], mine["params"])}
        self.state = defaultdict(dict)
        for key, s in state_dict["state"].items():
            key = int(key)
            if key not in by_index:
                raise ValueError(f"loaded state dict has state for parameter index {key}, which "
                                 "no parameter group refers to")
            p = by_index[key]
            self.state[p] = {k: _cast_state(p, k, v) for k, v in s.items()}
        self.param_groups = [dict(theirs, params=mine["params"])
                             for mine, theirs in zip(self.param_groups, saved)]
        self.__dict__.pop("_flat_plans", None)  # the foreach / fused buckets of the old state

    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


def _cast_state(p: Tensor, key: str, value):
    """A loaded state tensor on ``p``'s device (floats in ``p``'s dtype); ``step`` stays as is."""
    if not isinstance(value, Tensor) or key == "step":
        return value
    dtype = p.dtype if value.dtype.is_floating_point else value.dtype
    return value.detach().to(device=p.device, dtype=dtype)


def step_count(state: dict) -> float:
    """Increment and return ``state["step"]``, a float32 cpu scalar tensor as in torch."""
    t = state["step"]
    t._data += 1
    return float(t._data)


def new_step() -> Tensor:
    """A fresh ``state["step"]``: float32 zero on the cpu (read on the host, never synced)."""
    return Tensor._make(np.zeros((), np.float32), CPU)


def buffer(p: Tensor, value) -> Tensor:
    """A state tensor on ``p``'s device holding a copy of ``value`` (an array or a scalar)."""
    xp = p._backend.xp
    return Tensor._make(xp.full(p._data.shape, value, dtype=p._data.dtype) if isinstance(value, (int, float))
                        else xp.array(value, dtype=p._data.dtype, copy=True), p._device)


def lerp_(xp, a, b, weight: float) -> None:
    """``a.lerp_(b, weight)`` with torch's two-sided formula (exact at both ends)."""
    if weight < 0.5:
        a += weight * (b - a)
    else:
        xp.subtract(b, (b - a) * (1 - weight), out=a)


def check_hparams(**values: float) -> None:
    """Reject negative learning rates, momenta, decays and epsilons as torch does."""
    for name, v in values.items():
        if v < 0:
            raise ValueError(f"Invalid {name} value: {v}")


def new_scalar(value: float) -> Tensor:
    """A cpu 0-d state tensor in torch's scalar dtype (float64 under a float64 default, else
    float32); values read back from it are rounded exactly as torch's are."""
    from .. import _dtype as dt
    np_dtype = np.float64 if dt.get_default_dtype() == dt.float64 else np.float32
    return Tensor._make(np.array(value, dtype=np_dtype), CPU)


def check_lr(lr) -> None:
    """torch's learning-rate checks (a Tensor lr must hold one element)."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_betas(betas) -> None:
    for i, b in enumerate(betas):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {b}")
