"""``parallel_apply``: run each replica on its own inputs, one thread per device (as torch),
each thread with its device current and the caller's grad mode."""
from __future__ import annotations

import threading
from typing import Any, Sequence

from ...autograd import grad_mode
from ...tensor import Tensor
from .scatter_gather import _device_index


def _first_tensor(obj):
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        for o in obj:
            t = _first_tensor(o)
            if t is not None:
                return t
    if isinstance(obj, dict):
        return _first_tensor(list(obj.values()))
    return None


def _reraise(exc: BaseException, i: int, device) -> BaseException:
    """torch's ExceptionWrapper: the same exception type, saying which replica raised it."""
    msg = f"Caught {type(exc).__name__} in replica {i} on device {device}.\nOriginal error: {exc}"
    try:
        new = type(exc)(msg)
    except Exception:
        return exc
    new.__cause__ = exc
    return new


def parallel_apply(modules: Sequence, inputs: Sequence[Any], kwargs_tup=None,
                   devices=None) -> list:
    """``[modules[i](*inputs[i], **kwargs_tup[i])]``, replica i running in its own thread with
    ``devices[i]`` current (default: the device of its first input tensor)."""
    if len(modules) != len(inputs):
        raise AssertionError(f"The number of modules {len(modules)} is not equal to the number "
                             f"of inputs {len(inputs)}")
    if kwargs_tup is None:
        kwargs_tup = ({},) * len(modules)
    elif len(modules) != len(kwargs_tup):
        raise AssertionError(f"The number of modules {len(modules)} is not equal to the number "
                             f"of kwargs {len(kwargs_tup)}")
    if devices is None:
        devices = [_first_tensor(x) for x in inputs]
        devices = [None if t is None or not t.is_cuda else t.get_device() for t in devices]
    elif len(modules) != len(devices):
        raise AssertionError(f"The number of modules {len(modules)} is not equal to the number "
                             f"of devices {len(devices)}")
    devices = [_device_index(d) for d in devices]
    grad_enabled = grad_mode.is_grad_enabled()
    results: dict = {}

    def worker(i: int, module, inp, kw, device) -> None:
        from ... import cuda  # the public face, imported late: nn sits below it
        try:
            with grad_mode.set_grad_enabled(grad_enabled), cuda.device(
                    -1 if device is None else device):
                if not isinstance(inp, (list, tuple)):
                    inp = (inp,)
                results[i] = module(*inp, **kw)
        except BaseException as e:  # handed to the caller's thread
            results[i] = _reraise(e, i, device)

    jobs = list(zip(modules, inputs, kwargs_tup, devices))
    if len(jobs) > 1:
        threads = [threading.Thread(target=worker, args=(i, *job)) for i, job in enumerate(jobs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elif jobs:
        worker(0, *jobs[0])
    outputs = []
    for i in range(len(jobs)):
        out = results[i]
        if isinstance(out, BaseException):
            raise out
        outputs.append(out)
    return outputs


__all__ = ["parallel_apply"]
