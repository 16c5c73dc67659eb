"""``default_collate``: turn a list of samples into one batch, recursing through containers."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ... import _dtype as dt
from ..._shared_memory import shared_empty
from ...ops.creation import as_tensor, tensor
from ...tensor import Tensor
from ._worker import get_worker_info


def _stack(batch: list[Tensor]) -> Tensor:
    first = batch[0]
    for i, t in enumerate(batch):
        if t.shape != first.shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(first.shape)} at entry 0 and {list(t.shape)} at entry {i}")
        if t.device != first.device:
            raise RuntimeError(f"collate: samples are on different devices ({first.device} at "
                               f"entry 0, {t.device} at entry {i})")
    xp = first._backend.xp
    out_dtype = first.dtype
    for t in batch[1:]:
        out_dtype = dt.promote_types(out_dtype, t.dtype)
    arrays = [t._data.astype(out_dtype.np, copy=False) for t in batch]
    if get_worker_info() is not None and first.device.type == "cpu":
        # In a worker, stack straight into shared memory (as torch does): the batch then goes
        # to the main process as an fd, not as a pickled copy of its bytes.
        out = shared_empty((len(arrays),) + arrays[0].shape, out_dtype.np)
        return Tensor._make(np.stack(arrays, out=out), first.device)
    return Tensor._make(xp.stack(arrays), first.device)


def _is_numeric_array(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype.kind in "biuf"


def default_collate(batch: Sequence):
    """Stack tensors/arrays, make number lists 1-d tensors, and recurse into dicts/sequences."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if _is_numeric_array(elem) or (isinstance(elem, np.generic) and elem.dtype.kind in "biuf"):
        return _stack([as_tensor(np.asarray(b)) for b in batch])
    if isinstance(elem, float):
        return tensor(batch, dtype=dt.float64)
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(s) for s in zip(*batch)]
    raise TypeError("default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                    f"or lists; found {type(elem)}")


def default_convert(data):
    """Without batching: NumPy arrays become tensors; containers are converted recursively."""
    if _is_numeric_array(data):
        return as_tensor(data)
    if isinstance(data, Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, (list, tuple)):
        return type(data)(default_convert(v) for v in data)
    return data
