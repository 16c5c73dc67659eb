"""``DistributedDataParallel``: one process per replica, gradients averaged across ranks.

How it works, as torch's reducer does: parameters are broadcast from rank 0 when the wrapper is
built. Their gradients are grouped into buckets (``_buckets``: reverse parameter order, a small
first bucket, then ``bucket_cap_mb``). A post-accumulate-grad hook on every parameter copies its
gradient (times 1/world_size) into its bucket's flat buffer the moment backward produces it;
when a bucket is full it is all-reduced asynchronously, in bucket order on every rank, while
backward goes on computing earlier layers. Once the last bucket is launched a final callback is
queued on the autograd engine; at the end of backward it waits for every reduction and copies
the averages back into ``.grad`` (or leaves ``.grad`` a view of the bucket with
``gradient_as_bucket_view``).
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any

from ...autograd import engine
from ...autograd.function import AccumulateGrad
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...ops import creation
from ...ops.join_split import cat
from ...tensor import Tensor
from ..modules.module import Module
from ..parameter_lazy import UninitializedParameter
from ._buckets import DEFAULT_BUCKET_CAP_MB, MB, Bucket, assign_buckets, bucket_limits
from .scatter_gather import _device_index, gather, scatter_kwargs

_NO_GROUP = ("Default process group has not been initialized, please make sure to call "
             "init_process_group.")
_BROADCAST_BUCKET_BYTES = 250 * MB  # torch's broadcast_bucket_size


def _dist():
    from ... import distributed  # the public face, imported late: nn sits below it
    return distributed


def _find_tensors(obj) -> list:
    """Every tensor in a (nested) forward output."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _find_tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _find_tensors(o)]
    fields = getattr(obj, "__dataclass_fields__", None)
    if fields is not None:
        return [t for f in fields for t in _find_tensors(getattr(obj, f))]
    return []


def _leaves_reached(outputs: list) -> set:
    """ids of the leaf tensors whose AccumulateGrad the outputs' graph reaches."""
    used, seen, stack = set(), set(), []
    for t in outputs:
        if t._requires_grad:
            if t._grad_fn is None:
                used.add(id(t))
            else:
                stack.append(t._grad_fn)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.__class__ is AccumulateGrad:
            used.add(id(node.variable))
            continue
        for e in node._edges:
            if e is not None and id(e[0]) not in seen:
                stack.append(e[0])
    return used


def _unfinished_message(rank: int, missing: list[int]) -> str:
    return ("Expected to have finished reduction in the prior iteration before starting a new "
            "one. This error indicates that your module has parameters that were not used in "
            "producing loss. You can enable unused parameter detection by passing the keyword "
            "argument `find_unused_parameters=True` to "
            "`torch.nn.parallel.DistributedDataParallel`, and by \nmaking sure all `forward` "
            "function outputs participate in calculating loss. \nIf you already have done the "
            "above, then the distributed data parallel module wasn't able to locate the output "
            "tensors in the return value of your module's `forward` function. Please include "
            "the loss function and the structure of the return value of `forward` of your "
            "module when reporting this issue (e.g. list, dict, iterable).\nParameter indices "
            f"which did not receive grad for rank {rank}: {' '.join(map(str, missing))}\n In "
            "addition, you can set the environment variable TORCH_DISTRIBUTED_DEBUG to either "
            "INFO or DETAIL to print out information about which particular parameters did not "
            "receive gradient on this rank as part of this error")


class DistributedDataParallel(Module):
    """torch.nn.parallel.DistributedDataParallel over ``gputensor.distributed``."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool | None = None, init_sync: bool = True,
                 process_group=None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None,
                 skip_all_reduce_unused_params: bool = False,
                 bucket_cap_mb_list: list[int] | None = None, batched_grad_copy: bool = False,
                 forward_sync_buffers: bool | None = None) -> None:
        super().__init__()
        for name, value in (("delay_all_reduce_named_params", delay_all_reduce_named_params),
                            ("param_to_hook_all_reduce", param_to_hook_all_reduce),
                            ("mixed_precision", mixed_precision), ("device_mesh", device_mesh)):
            if value is not None:
                raise NotImplementedError(f"DistributedDataParallel: {name} is not supported")
        if skip_all_reduce_unused_params:
            raise NotImplementedError("DistributedDataParallel: skip_all_reduce_unused_params "
                                      "is not supported")
        dist = _dist()
        if process_group is None and not dist.is_initialized():
            raise ValueError(_NO_GROUP)
        self.process_group = dist.group.WORLD if process_group is None else process_group
        self.parameters_to_ignore = set(getattr(module, "_ddp_params_and_buffers_to_ignore", ()))
        module_params = [p for n, p in module.named_parameters()
                         if n not in self.parameters_to_ignore]
        if not any(p.requires_grad for p in module_params):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError("device_ids can only be None or contain a single element.")
        types = {p.device.type for p in module_params}
        if len(types) != 1:
            raise ValueError("DistributedDataParallel's input module must be on the same type "
                             f"of devices, but input module parameters locate in {types}.")
        self.device_type = next(iter(types))
        if not device_ids or self.device_type == "cpu":
            if device_ids or output_device:
                raise ValueError(
                    "DistributedDataParallel device_ids and output_device arguments only work "
                    "with single-device/multiple-device GPU modules or CPU modules, but got "
                    f"device_ids {device_ids}, output_device {output_device}, and module "
                    f"parameters {({p.device for p in module_params})}.")
            self.device_ids = self.output_device = None
        else:
            self.device_ids = [_device_index(x) for x in device_ids]
            self.output_device = _device_index(device_ids[0] if output_device is None
                                               else output_device)
        self.static_graph = False
        self.dim = dim
        self.module = module
        self.device = module_params[0].device
        if broadcast_buffers is not None:
            warnings.warn("`broadcast_buffers` is deprecated. Use `forward_sync_buffers` "
                          "instead. IMPORTANT: unlike `broadcast_buffers=False`, "
                          "`forward_sync_buffers=False` still syncs buffers at init. If you rely "
                          "on buffers NOT being synced at init (e.g. rank-local buffers), keep "
                          "using `broadcast_buffers=False` until `init_sync_buffers` is "
                          "available." if forward_sync_buffers is None else
                          "Both `broadcast_buffers` and `forward_sync_buffers` were specified. "
                          "`broadcast_buffers` is deprecated and its value is ignored when "
                          "`forward_sync_buffers` is provided.", FutureWarning, stacklevel=2)
        if forward_sync_buffers is not None:
            self.forward_sync_buffers, init_sync_buffers = forward_sync_buffers, True
        else:
            self.forward_sync_buffers = init_sync_buffers = (
                True if broadcast_buffers is None else broadcast_buffers)
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.gradient_as_bucket_view = gradient_as_bucket_view
        if check_reduction:
            warnings.warn("The `check_reduction` argument in `DistributedDataParallel` module is "
                          "deprecated. Please avoid using it.", FutureWarning, stacklevel=2)
        if any(isinstance(p, UninitializedParameter) for p in module_params):
            raise RuntimeError("Modules with uninitialized parameters can't be used with "
                               "`DistributedDataParallel`. Run a dummy forward pass to "
                               "correctly initialize the modules")
        self.broadcast_bucket_size = _BROADCAST_BUCKET_BYTES
        limits = ([int(c * MB) for c in bucket_cap_mb_list] if bucket_cap_mb_list
                  else bucket_limits(bucket_cap_mb))
        self.bucket_bytes_cap = (max(limits) if bucket_cap_mb_list else
                                 int((DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None
                                      else bucket_cap_mb) * MB))
        self._world = dist.get_world_size(self.process_group)
        self._rank = dist.get_rank(self.process_group)
        self._src = dist.get_global_rank(self.process_group, 0)  # the group's rank 0
        # the reducer's parameters: those that take gradients, in module order
        self._params = [p for p in module_params if p.requires_grad]
        if init_sync:
            self._verify_param_count()
            self._broadcast(module_params)
            if init_sync_buffers:
                self._broadcast(self._module_buffers())
        self._build_buckets(limits)
        self._reset_reduction()
        self._require_finalize = False
        self._hook_handles = [p.register_post_accumulate_grad_hook(self._make_hook(i))
                              for i, p in enumerate(self._params)]
        if static_graph:
            self._set_static_graph()

    # -- setup ------------------------------------------------------------------------------
    def _build_buckets(self, limits: list[int]) -> None:
        order = list(range(len(self._params)))[::-1]  # gradients arrive last layer first
        groups = assign_buckets([self._params[i] for i in order], limits)
        self._buckets = [Bucket(b, [order[j] for j in g], self._params)
                         for b, g in enumerate(groups)]
        self._where = {}  # parameter index -> (bucket, position in it)
        for bucket in self._buckets:
            for pos, i in enumerate(bucket.indices):
                self._where[i] = (bucket, pos)

    def _set_static_graph(self) -> None:
        """torch's static graph: the set of used parameters is fixed; found here, as with
        ``find_unused_parameters``, by walking each iteration's graph."""
        self.static_graph = True

    def _verify_param_count(self) -> None:
        dist = _dist()
        n = len(self._params)
        t = creation.tensor([n, -n], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.process_group)
        hi, neg_lo = (int(v) for v in t.tolist())
        if hi != -neg_lo:
            raise RuntimeError(f"DDP expects same model across all ranks, but Rank "
                               f"{self._rank} has {n} params, while another rank has an "
                               f"inconsistent number ({hi if hi != n else -neg_lo}) of params.")

    def _module_buffers(self) -> list[Tensor]:
        return [b for n, b in self.module.named_buffers()
                if b is not None and n not in self.parameters_to_ignore]

    def _broadcast(self, tensors: list[Tensor]) -> None:
        """Overwrite ``tensors`` with rank 0's values: one broadcast per dtype/device group of
        up to ``broadcast_bucket_size`` bytes."""
        if self._world == 1 or not tensors:
            return
        dist = _dist()
        groups: dict = {}
        for t in tensors:
            groups.setdefault((t.dtype, t.device), [[]])
            chunk = groups[(t.dtype, t.device)]
            if sum(x.numel() * x.element_size() for x in chunk[-1]) > self.broadcast_bucket_size:
                chunk.append([])
            chunk[-1].append(t)
        with no_grad():
            for chunks in groups.values():
                for chunk in chunks:
                    flat = cat([t.detach().reshape(-1) for t in chunk])
                    dist.broadcast(flat, src=self._src, group=self.process_group)
                    offset = 0
                    for t in chunk:
                        n = t.numel()
                        t.copy_(flat[offset:offset + n].view(t.shape))
                        offset += n

    # -- the reduction ----------------------------------------------------------------------
    def _reset_reduction(self) -> None:
        self._expect_hooks = False
        self._ready: set[int] = set()
        self._next_bucket = 0
        self._unused: list[int] = []
        self._unused_marked = False
        self._used_work = self._used_map = None
        for b in self._buckets:
            b.reset()

    def _make_hook(self, index: int):
        def hook(param: Tensor) -> None:
            if self._expect_hooks:
                self._autograd_hook(index)
        return hook

    def _autograd_hook(self, index: int) -> None:
        if index in self._ready:
            raise RuntimeError(
                "Expected to mark a variable ready only once. This error is caused by one of "
                "the following reasons: 1) Use of a module parameter outside the `forward` "
                "function. Please make sure model parameters are not shared across multiple "
                "concurrent forward-backward passes. 2) Reused parameters in multiple reentrant "
                "backward passes.\nParameter at index "
                f"{index} has been marked as ready twice. This means that multiple autograd "
                "engine hooks have fired for this particular parameter during this iteration.")
        self._require_finalize = True
        if self._unused and not self._unused_marked:
            self._unused_marked = True
            for i in self._unused:
                self._mark_ready(i)
        self._mark_ready(index)

    def _mark_ready(self, index: int) -> None:
        self._ready.add(index)
        bucket, pos = self._where[index]
        view, grad = bucket.views[pos], self._params[index].grad
        with no_grad():
            if grad is None:
                view.zero_()
            else:
                if grad._data is not view._data:
                    view.copy_(grad)
                if self._world > 1:
                    view.mul_(1.0 / self._world)
        bucket.pending -= 1
        if bucket.pending == 0:
            self._launch_ready_buckets()

    def _launch_ready_buckets(self) -> None:
        """All-reduce every full bucket from the next one on, in bucket order (the same order
        on every rank, as collectives must be issued)."""
        dist = _dist()
        buckets = self._buckets
        while self._next_bucket < len(buckets) and buckets[self._next_bucket].pending == 0:
            b = buckets[self._next_bucket]
            if self._world > 1:
                b.work = dist.all_reduce(b.buffer, op=dist.ReduceOp.SUM,
                                         group=self.process_group, async_op=True)
            self._next_bucket += 1
        if self._next_bucket == len(buckets):
            if self._track_used() and self._world > 1:
                used = [0 if i in self._unused else 1 for i in range(len(self._params))]
                self._used_map = creation.tensor(used, device=self.device)
                self._used_work = dist.all_reduce(self._used_map, op=dist.ReduceOp.SUM,
                                                  group=self.process_group, async_op=True)
            engine.queue_callback(self._finalize_backward)

    def _track_used(self) -> bool:
        return self.find_unused_parameters or self.static_graph

    def _finalize_backward(self) -> None:
        """End of backward: wait for the reductions, hand the averages to ``.grad``."""
        for b in self._buckets:
            if b.work is not None:
                b.work.wait()
        unused = set(self._unused)
        if self._used_work is not None:
            self._used_work.wait()
            unused = {i for i, c in enumerate(self._used_map.tolist()) if c == 0}
        with no_grad():
            for i, p in enumerate(self._params):
                if i in unused:  # unused on every rank: its .grad stays as it was
                    continue
                bucket, pos = self._where[i]
                view = bucket.views[pos]
                if self.gradient_as_bucket_view:
                    if p.grad is None or p.grad._data is not view._data:
                        p.grad = view
                elif p.grad is None:
                    p.grad = view.clone()
                else:
                    p.grad.copy_(view)
        self._require_finalize = False
        self._reset_reduction()

    def _prepare_for_backward(self, output) -> None:
        self._reset_reduction()
        self._expect_hooks = True
        if self._track_used():
            reached = _leaves_reached(_find_tensors(output))
            self._unused = [i for i, p in enumerate(self._params) if id(p) not in reached]

    # -- forward ----------------------------------------------------------------------------
    def _pre_forward(self, inputs: tuple, kwargs: dict):
        if is_grad_enabled() and self._require_finalize:
            missing = [i for i in range(len(self._params)) if i not in self._ready]
            raise RuntimeError(_unfinished_message(self._rank, missing))
        if self.will_sync_module_buffers():
            self._broadcast(self._module_buffers())
        if self.device_ids:
            inputs, kwargs = self.to_kwargs(inputs, kwargs, self.device_ids[0])
            return inputs[0], kwargs[0]
        return inputs, kwargs

    def _post_forward(self, output):
        if is_grad_enabled() and self.require_backward_grad_sync:
            self.require_forward_param_sync = True
            self._prepare_for_backward(output)
        else:
            self.require_forward_param_sync = False
        return output

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        inputs, kwargs = self._pre_forward(inputs, kwargs)
        return self._post_forward(self.module(*inputs, **kwargs))

    def will_sync_module_buffers(self) -> bool:
        return (self.require_forward_param_sync and self.forward_sync_buffers
                and self._world > 1 and len(self._module_buffers()) > 0)

    @property
    def broadcast_buffers(self) -> bool:
        return self.forward_sync_buffers

    @broadcast_buffers.setter
    def broadcast_buffers(self, value: bool) -> None:
        self.forward_sync_buffers = value

    @contextmanager
    def no_sync(self):
        """Gradients accumulate locally inside; the first backward after it reduces them."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def scatter(self, inputs, kwargs, device_ids):
        return scatter_kwargs(inputs, kwargs, device_ids, dim=self.dim)

    def to_kwargs(self, inputs, kwargs, device_id):
        return scatter_kwargs(inputs, kwargs, [device_id], dim=self.dim)

    def gather(self, outputs, output_device):
        return gather(outputs, output_device, dim=self.dim)

    def train(self, mode: bool = True) -> DistributedDataParallel:
        super().train(mode)
        return self
