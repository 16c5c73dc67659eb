"""``replicate``: one copy of a module per device, for DataParallel.

As torch's: each replica is a shallow copy of every submodule whose parameters are copies of
the originals on its device, made by differentiable device copies, so the gradients of all
replicas flow back (summed) into the original parameters on the source device, which is what
torch's ``Broadcast`` / ``ReduceAddCoalesced`` pair does. The replica on the source device uses the
original tensors themselves (torch's broadcast also hands the inputs back there), so buffers it
updates in place (BatchNorm's running stats) persist in the original module.
"""
from __future__ import annotations

from typing import Sequence

from .scatter_gather import _device_index, _target


def _broadcast(tensors: list, devices: list, detach: bool) -> list[list]:
    """``[[t on device d for t in tensors] for d in devices]``; differentiable unless
    ``detach``."""
    out = []
    for d in devices:
        dev = _target(d)
        copies = []
        for t in tensors:
            c = t if t.device == dev else t.to(dev)
            copies.append(c.detach() if detach else c)
        out.append(copies)
    return out


def _replica_of(module):
    """A shallow copy sharing everything but the registries, with no parameters of its own
    (they are set as plain attributes: the replica's parameters are not leaves)."""
    replica = object.__new__(type(module))
    replica.__dict__ = module.__dict__.copy()
    replica.__dict__["_parameters"] = {}
    replica.__dict__["_buffers"] = dict(module._buffers)
    replica.__dict__["_modules"] = dict(module._modules)
    replica.__dict__["_is_replica"] = True
    return replica


def replicate(network, devices: Sequence, detach: bool = False) -> list:
    """``[copy of network on devices[j] for j]`` (torch.nn.parallel.replicate)."""
    devices = [_device_index(d) for d in devices]
    if not devices:
        return []
    params = list(network.parameters())
    param_index = {id(p): i for i, p in enumerate(params)}
    param_copies = _broadcast(params, devices, detach)
    buffers = list(network.buffers())
    buffer_index = {id(b): i for i, b in enumerate(buffers)}
    grad_bufs = [b for b in buffers if b.requires_grad]
    plain = _broadcast([b for b in buffers if not b.requires_grad], devices, detach=True)
    graded = _broadcast(grad_bufs, devices, detach)
    buffer_copies = []
    for j in range(len(devices)):
        it_plain, it_grad, row = iter(plain[j]), iter(graded[j]), []
        for b in buffers:
            row.append(next(it_grad) if b.requires_grad else next(it_plain))
        buffer_copies.append(row)

    modules = list(network.modules())
    module_index = {id(m): i for i, m in enumerate(modules)}
    copies = [[_replica_of(m) for m in modules] for _ in devices]
    for i, m in enumerate(modules):
        for j in range(len(devices)):
            replica = copies[j][i]
            for key, child in m._modules.items():
                replica._modules[key] = (None if child is None
                                         else copies[j][module_index[id(child)]])
            for key, p in m._parameters.items():
                # not leaves, so plain attributes (as torch's replicas hold them)
                replica.__dict__[key] = None if p is None else param_copies[j][param_index[id(p)]]
            for key, b in m._buffers.items():
                replica._buffers[key] = (None if b is None
                                         else buffer_copies[j][buffer_index[id(b)]])
    return [c[0] for c in copies]


__all__ = ["replicate"]
