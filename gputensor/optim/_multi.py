"""Multi-tensor (``foreach``) and ``fused`` optimizer steps over flat buffers.

The parameters of a group that have a gradient are bucketed by (device, dtype). Each bucket keeps
its state tensors as *views into one flat buffer per state name*, so ``optimizer.state[p]`` still
holds one tensor per parameter (state dicts look as torch's and move freely between paths) while
a step updates all of them with O(1) array calls. Gradients are gathered into a flat buffer each
step; the NumPy / CuPy path also gathers the parameters and copies them back, the fused CPU kernel
writes them in place through their addresses. When the state was replaced behind the bucket's
back (``load_state_dict``, a single-tensor step, user code) the flat buffers are rebuilt from it.
"""
from __future__ import annotations

from operator import is_, itemgetter

import numpy as np

from ..backends import enter_device, exit_device
from ..tensor import Tensor

FUSED_DEVICES = ['mps', 'cuda', 'xpu', 'hpu', 'cpu', 'mtia', 'privateuseone']


def check_flags(foreach, fused, differentiable) -> None:
    """torch's constructor checks for ``fused``."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def check_fused_param(p: Tensor) -> None:
    if not (p.device.type in FUSED_DEVICES and p.dtype.is_floating_point):
        raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of "
                           f"supported devices: {FUSED_DEVICES} but {p.dtype} and "
                           f"{p.device.type}")


def choose_path(group: dict, params: list) -> str:
    """``"fused"``, ``"foreach"`` or ``"single"``; ``None`` flags pick what torch picks (the
    single-tensor loop on the cpu, foreach when every parameter is on cuda)."""
    if group.get("fused"):
        return "fused"
    foreach = group.get("foreach")
    if foreach is None and not group.get("differentiable"):
        foreach = all(p.device.type == "cuda" for p in params)
    return "foreach" if foreach else "single"


def kernel_dtype(b) -> bool:
    """Whether the fused kernels are compiled for the bucket's dtype (float32 / float64)."""
    return b.dtype.kind == "f" and b.dtype.itemsize in (4, 8)


class FlatBucket:
    """Flat state of one bucket: offsets, per-name flat buffers and the per-parameter views."""

    def __init__(self, params: list, names: tuple):
        self.params = params
        self.names = names
        self.device = params[0]._device
        self.xp = params[0]._backend.xp
        self.dtype = params[0]._data.dtype
        sizes = [p._data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.sizes = np.asarray(sizes, dtype=np.int64)
        self.total = int(self.offsets[-1])
        self.flat: dict = {}
        self.views: dict = {}  # name -> list of the state Tensors handed out
        self.steps = None  # flat float32 host array behind every state["step"]
        self.step_views: list | None = None
        self.gbuf = self.xp.empty(self.total, self.dtype)
        self.pbuf = None
        self.pviews = None
        self.param_arrays = tuple(p._data for p in params)
        self.shapes = [a.shape for a in self.param_arrays]
        self.addrs = None

    # -- state ---------------------------------------------------------------------------------
    def attach(self, states: list, init: dict, with_step: bool) -> list:
        """Make each name's flat buffer current with ``states`` (rebuilding it when some
        parameter's state tensor is not this bucket's view); ``init[name]`` is the fill value
        for missing entries (None: leave missing, e.g. SGD's lazily created momentum).
        Returns the indices of parameters whose entry was missing."""
        fresh: list = []
        for name in self.names:
            if not _same(states, name, self.views.get(name)):
                self._rebuild(name, states, init.get(name), fresh)
        if with_step and not _same(states, "step", self.step_views):
            self._rebuild_steps(states)
        return fresh

    def _rebuild(self, name: str, states: list, fill, fresh: list) -> None:
        xp, flat = self.xp, self.xp.empty(self.total, self.dtype)
        views = []
        for i, (p, s) in enumerate(zip(self.params, states)):
            lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
            old = s.get(name)
            if old is not None:
                flat[lo:hi] = xp.asarray(old._data, dtype=self.dtype).reshape(-1)
            else:
                flat[lo:hi] = 0 if fill is None else fill
                if fill is None and i not in fresh:
                    fresh.append(i)
            v = Tensor._make(flat[lo:hi].reshape(p._data.shape), self.device)
            s[name] = v
            views.append(v)
        self.flat[name], self.views[name] = flat, views

    def _rebuild_steps(self, states: list) -> None:
        steps = np.zeros(len(states), np.float32)
        for i, s in enumerate(states):
            if s.get("step") is not None:
                steps[i] = float(s["step"]._data)
        self.steps = steps
        cpu = _cpu()
        self.step_views = [Tensor._make(steps[i:i + 1].reshape(()), cpu)
                           for i in range(len(states))]
        for s, v in zip(states, self.step_views):
            s["step"] = v

    def bump_steps(self):
        """``step += 1`` for every parameter; returns the steps as float64 (one per param)."""
        self.steps += 1
        return self.steps.astype(np.float64)

    # -- gradients and parameters --------------------------------------------------------------
    def gather_grads(self):
        """The gradients (set by ``run_buckets``) copied into the flat gradient buffer."""
        arrays = [g._data for g in self.grads]
        if len(arrays) == 1:
            self.xp.copyto(self.gbuf, arrays[0].reshape(-1), casting="unsafe")
        else:
            self.xp.concatenate(arrays, axis=None, out=self.gbuf, casting="unsafe")
        return self.gbuf

    def gather_params(self):
        xp = self.xp
        if self.pbuf is None:
            self.pbuf = xp.empty(self.total, self.dtype)
            self.pviews = self._param_views()
        arrays = [p._data for p in self.params]
        if len(arrays) == 1:
            xp.copyto(self.pbuf, arrays[0].reshape(-1))
        else:
            xp.concatenate(arrays, axis=None, out=self.pbuf)
        return self.pbuf

    def _param_views(self) -> list:
        return [self.pbuf[int(self.offsets[i]):int(self.offsets[i + 1])].reshape(shape)
                for i, shape in enumerate(self.shapes)]

    def scatter_params(self) -> None:
        copyto = self.xp.copyto
        for p, v in zip(self.params, self.pviews):
            copyto(p._data, v)

    def scratch(self):
        """A flat temporary of the bucket's size (kept: large allocations cost page faults)."""
        t = self.__dict__.get("_scratch")
        if t is None:
            t = self._scratch = self.xp.empty(self.total, self.dtype)
        return t

    def per_param(self, values) -> object:
        """A flat array repeating ``values[i]`` over parameter i's elements (on the device): a
        gather through a kept element-to-parameter index (CuPy's ``repeat`` takes no array)."""
        xp = self.xp
        owner = self.__dict__.get("_owner")
        if owner is None:
            owner = self._owner = xp.asarray(np.repeat(np.arange(len(self.params)), self.sizes))
        return xp.asarray(np.asarray(values, dtype=self.dtype))[owner]

    def params_unchanged(self) -> bool:
        """False when a parameter's storage changed shape or dtype (``p.data = ...``): the
        bucket's offsets no longer describe it. A same-shaped new storage is adopted."""
        arrays = tuple(p._data for p in self.params)
        if all(map(is_, arrays, self.param_arrays)):
            return True
        if any(a.shape != p_shape or a.dtype != self.dtype
               for a, p_shape in zip(arrays, self.shapes)):
            return False
        self.param_arrays, self.addrs = arrays, None
        self.pviews = None if self.pbuf is None else self._param_views()
        return True

    def addresses(self):
        """Parameter addresses for the fused CPU kernels (None if one is not C-contiguous)."""
        if self.addrs is None:
            if not all(a.flags.c_contiguous for a in self.param_arrays):
                return None
            from ..kernels.optim_cpu import addresses
            self.addrs = addresses(self.param_arrays)
        return self.addrs


def _cpu():
    from .._device import CPU
    return CPU


def _same(states: list, name: str, views) -> bool:
    """Whether every ``states[i][name]`` is still ``views[i]`` (C-level loop)."""
    if views is None:
        return False
    try:
        return all(map(is_, map(itemgetter(name), states), views))
    except KeyError:
        return False


class _Plan:
    """A group's buckets for one set of parameters with gradients (cached across steps)."""

    def __init__(self, opt, params: list, names: tuple):
        self.state = opt.state
        groups: dict = {}
        for i, p in enumerate(params):
            groups.setdefault((p._device, p._data.dtype), []).append(i)
        self.parts = []
        for idx in groups.values():
            ps = [params[i] for i in idx]
            b = FlatBucket(ps, names)
            b.states = [opt.state[p] for p in ps]
            self.parts.append((b, idx if len(groups) > 1 else None))


def run_buckets(opt, group: dict, params: list, grads: list, names: tuple, init: dict,
                with_step: bool, fn) -> None:
    """``fn(group, bucket, fresh)`` for each (device, dtype) bucket of ``params``, with that
    device current; bumps the parameters' version counters afterwards. The buckets are cached
    per (group, parameters with a gradient, state names) and rebuilt when ``opt.state`` is
    replaced (``load_state_dict``)."""
    cache = opt.__dict__.setdefault("_flat_plans", {})
    key = (id(group), names, tuple(map(id, params)))
    plan = cache.get(key)
    if plan is None or plan.state is not opt.state or not all(
            b.params_unchanged() for b, _ in plan.parts):
        if len(cache) > 64:
            cache.clear()
        plan = cache[key] = _Plan(opt, params, names)
    for b, idx in plan.parts:
        b.grads = grads if idx is None else [grads[i] for i in idx]
        restore = enter_device(b.device)
        try:
            fresh = b.attach(b.states, init, with_step)
            fn(group, b, fresh)
        finally:
            b.grads = ()
            exit_device(restore)
        for p in b.params:
            p._version.value += 1
