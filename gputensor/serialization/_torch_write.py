"""``save_torch``: write objects as torch 2.x checkpoints that real ``torch.load`` reads.

The pickle names torch's globals (``torch._utils._rebuild_tensor_v2``, ``torch.FloatStorage``,
``torch.float32``, ``torch.device``, ``torch.Size``) without importing torch. Python's C pickler
checks every global by importing it, so this uses the pure-Python ``pickle._Pickler`` with two
small changes: gputensor dtypes, devices, Sizes, tensors and Parameters are replaced by torch's
spelling of them before the usual dispatch (``save``/``reducer_override``), and a ``_TorchName``
stand-in (one singleton per name, so the memo shares it as torch's pickles do) is written as a
plain GLOBAL / STACK_GLOBAL opcode. Everything else (modules, optimizers, user objects) pickles
by reference to its own class exactly as ``pickle`` would, so a whole-object save needs
``weights_only=False`` to load, as with torch.

Tensor data goes to ``data/<key>`` records through persistent ids
``('storage', torch.<X>Storage, key, location, numel)``. Tensors viewing one NumPy/CuPy buffer
(same base array, same dtype, non-negative strides inside it) share one storage with their
offsets and strides, as torch's views do; anything else gets a storage of its own (made
contiguous where its strides cannot be expressed, e.g. negative ones).
"""
from __future__ import annotations

import io
import os
import pickle
import struct
import sys
from collections import OrderedDict
from typing import IO, Any

import numpy as np

from .. import _dtype as dt
from .. import _layout, _memory_format
from .._device import device as Device
from ..tensor import Size, Tensor
from ._torch_types import storage_name, torch_dtype_name
from ._torch_zip import TorchZipWriter, archive_name_for


class _TorchName:
    """Stands in for the global ``module.name`` of torch's in the pickle stream."""

    __slots__ = ("module", "name")
    _cache: dict[tuple[str, str], "_TorchName"] = {}

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # save_reduce insists its callable be callable
        raise TypeError(f"{self.module}.{self.name} is a placeholder for torch's global")

    @classmethod
    def get(cls, module: str, name: str) -> "_TorchName":
        key = (module, name)
        if key not in cls._cache:
            cls._cache[key] = cls(module, name)
        return cls._cache[key]


_REBUILD_TENSOR = _TorchName.get("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _TorchName.get("torch._utils", "_rebuild_parameter")
_SIZE = _TorchName.get("torch", "Size")
_DEVICE = _TorchName.get("torch", "device")


class _Storage:
    """One ``data/<key>`` record: a C-contiguous backend array and where it lives."""

    __slots__ = ("key", "cls", "location", "numel", "array", "backend")

    def __init__(self, key: str, array, backend, location: str, d: dt.dtype):
        self.key, self.array, self.backend, self.location = key, array, backend, location
        self.cls = _TorchName.get("torch", storage_name(d))
        self.numel = int(array.size)

    def host_bytes(self) -> memoryview:
        host = self.array if isinstance(self.array, np.ndarray) else \
            self.backend.to_numpy(self.array)
        host = np.ascontiguousarray(host).reshape(-1)
        if host.dtype.byteorder == ">" or (host.dtype.byteorder == "=" and sys.byteorder == "big"):
            host = host.astype(host.dtype.newbyteorder("<"))
        return memoryview(host.view(np.uint8))


def _address(a) -> int:
    return a.ctypes.data if isinstance(a, np.ndarray) else a.data.ptr


def _location(t: Tensor) -> str:
    dev = t._device
    return "cpu" if dev.type == "cpu" else f"{dev.type}:{dev.index or 0}"


class _StorageTable:
    """Assigns storages to tensors: one per base buffer when views can be expressed on it."""

    def __init__(self):
        self.storages: dict[str, _Storage] = {}
        self._by_id: dict[int, _Storage] = {}

    def _new(self, owner, array, t: Tensor) -> _Storage:
        s = self._by_id.get(id(owner))
        if s is None:
            s = _Storage(str(len(self.storages)), array, t._backend, _location(t), t.dtype)
            self.storages[s.key] = s
            self._by_id[id(owner)] = s
        return s

    def place(self, t: Tensor):
        """``(storage, offset, size, stride)`` in elements for tensor ``t``."""
        a = t._data
        try:
            storage_name(t.dtype)
        except KeyError:
            raise RuntimeError(f"gputensor.save: dtype {t.dtype} has no torch storage type") \
                from None
        size = tuple(int(n) for n in a.shape)
        root = a
        while True:  # through views, and through as_strided's wrapper object (its .base)
            b = getattr(root, "base", None)
            if not isinstance(b, type(a)):
                b = getattr(b, "base", None)
            if not isinstance(b, type(a)):
                break
            root = b
        item = a.dtype.itemsize
        if a.size and root.dtype == a.dtype and root.flags.c_contiguous:
            delta = _address(a) - _address(root)
            strides = a.strides
            if delta >= 0 and delta % item == 0 and all(s >= 0 and s % item == 0 for s in strides):
                offset = delta // item
                stride = tuple(s // item for s in strides)
                last = offset + sum((n - 1) * s for n, s in zip(size, stride))
                if last < root.size:
                    return self._new(root, root, t), offset, size, stride
        if not (a.flags.c_contiguous or a.size == 0):
            a = t._backend.xp.ascontiguousarray(a)
        stride, acc = [], 1
        for n in reversed(size):
            stride.append(acc)
            acc *= max(n, 1)
        return self._new(t._data, a, t), 0, size, tuple(reversed(stride))


def _hooks() -> OrderedDict:
    return OrderedDict()


class _TorchPickler(pickle._Pickler):
    """The pure-Python pickler, writing torch's names for gputensor's tensor-world objects."""

    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file: IO[bytes], protocol: int, table: _StorageTable):
        super().__init__(file, protocol)
        self._table = table

    def persistent_id(self, obj):
        if type(obj) is _Storage:
            return ("storage", obj.cls, obj.key, obj.location, obj.numel)
        return None

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, dt.dtype):
            obj = _TorchName.get("torch", torch_dtype_name(obj))
        elif isinstance(obj, (_layout.layout, _memory_format.memory_format)):
            obj = _TorchName.get("torch", obj.__reduce__())
        super().save(obj, save_persistent_id)

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            return self._reduce_tensor(obj)
        if type(obj) is Size:
            return (_SIZE, (tuple(obj),))
        if isinstance(obj, Device):
            kind = obj.type.encode().decode()  # a fresh str, unshared in the memo as torch's
            return (_DEVICE, (kind,) if obj.index is None else (kind, obj.index))
        return NotImplemented

    def _reduce_tensor(self, t: Tensor):
        from ..nn.parameter import Parameter, is_lazy
        if type(t).__name__ == "SparseTensor":
            raise RuntimeError("gputensor.save: sparse tensors cannot be written in torch's "
                               "checkpoint format yet; save t.to_dense() or use the npz format")
        if is_lazy(t):
            return NotImplemented  # an uninitialized parameter pickles by reference, as torch's
        if isinstance(t, Parameter):
            data = Tensor._make(t._data, t._device)
            return (_REBUILD_PARAMETER, (data, t.requires_grad, _hooks()))
        storage, offset, size, stride = self._table.place(t)
        return (_REBUILD_TENSOR, (storage, offset, size, stride, t.requires_grad, _hooks()))

    def save_global(self, obj, name=None):
        """As pickle's, but failing with the C pickler's (torch.save's) exception and words."""
        qual = name or getattr(obj, "__qualname__", None) or getattr(obj, "__name__", "?")
        if "<locals>" in qual.split("."):
            raise AttributeError(f"Can't pickle local object {qual!r}")
        try:
            super().save_global(obj, name)
        except pickle.PicklingError as e:
            if "it's not found as" not in str(e):
                raise
            module = getattr(obj, "__module__", None) or "__main__"
            raise pickle.PicklingError(f"Can't pickle {obj!r}: attribute lookup {qual} on "
                                       f"{module} failed") from None

    def _save_torch_name(self, obj: _TorchName) -> None:
        if self.proto >= 4:
            self.save(obj.module)
            self.save(obj.name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
        self.memoize(obj)

    dispatch[_TorchName] = _save_torch_name
    for _kind, _saver in list(dispatch.items()):  # functions and classes: our save_global
        if _saver is pickle._Pickler.save_global:
            dispatch[_kind] = save_global
    del _kind, _saver


def _pickle(obj: Any, pickle_protocol: int, table: _StorageTable) -> bytes:
    buf = io.BytesIO()
    _TorchPickler(buf, pickle_protocol, table).dump(obj)
    return buf.getvalue()


def save_torch(obj: Any, f, pickle_protocol: int = 2) -> None:
    """Write ``obj`` in torch 2.x's zip checkpoint format to a path or a binary file object.

    A path is written atomically (temp file, fsync, rename) and names the archive after its
    basename, as torch does; a file object gets the archive name ``archive``.
    """
    if isinstance(f, (str, os.PathLike)):
        from ._atomic import atomic_write
        path = os.fspath(f)
        name = archive_name_for(path)
        with atomic_write(path) as fh:
            _write_zip(obj, fh, pickle_protocol, name)
        return
    _write_zip(obj, f, pickle_protocol, "archive")


def _write_zip(obj: Any, fileobj: IO[bytes], pickle_protocol: int, archive_name: str) -> None:
    table = _StorageTable()
    data = _pickle(obj, pickle_protocol, table)
    zf = TorchZipWriter(fileobj, archive_name)
    zf.write_record("data.pkl", data)
    zf.write_record(".format_version", b"1")
    zf.write_record(".storage_alignment", b"64")
    zf.write_record("byteorder", b"little")
    for key, storage in table.storages.items():
        zf.write_record(f"data/{key}", storage.host_bytes())
    zf.finish()


_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
_PROTOCOL_VERSION = 1001


def save_torch_legacy(obj: Any, f, pickle_protocol: int = 2) -> None:
    """Write torch's pre-1.6 format (``_use_new_zipfile_serialization=False``): magic number,
    protocol version and system info pickles, the object pickle, the sorted storage keys, then
    each storage as an int64 element count followed by its little-endian bytes."""
    if isinstance(f, (str, os.PathLike)):
        from ._atomic import atomic_write
        with atomic_write(os.fspath(f)) as fh:
            save_torch_legacy(obj, fh, pickle_protocol)
        return
    table = _StorageTable()
    sys_info = {"protocol_version": _PROTOCOL_VERSION, "little_endian": True,
                "type_sizes": {"short": 2, "int": 4, "long": 4}}
    for head in (_MAGIC_NUMBER, _PROTOCOL_VERSION, sys_info):
        pickle.dump(head, f, protocol=pickle_protocol)

    class _Legacy(_TorchPickler):
        def persistent_id(self, o):
            if type(o) is _Storage:
                return ("storage", o.cls, o.key, o.location, o.numel, None)
            return None

    _Legacy(f, pickle_protocol, table).dump(obj)
    keys = sorted(table.storages)
    pickle.dump(keys, f, protocol=pickle_protocol)
    for key in keys:
        s = table.storages[key]
        f.write(struct.pack("<q", s.numel))
        f.write(s.host_bytes())
    flush = getattr(f, "flush", None)
    if callable(flush):
        flush()
