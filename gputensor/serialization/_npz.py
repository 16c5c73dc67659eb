"""gputensor's earlier checkpoint format: a NumPy ``.npz`` archive, never pickle.

Every tensor (and NumPy array) becomes one array entry; the object structure (dicts,
OrderedDicts, lists, tuples, numbers, strings, bools, None) is a JSON manifest stored as a uint8
entry. Loading parses each ``.npy`` header itself (checking its shape against the member's real
size before allocating) and only rebuilds the whitelisted types, so a crafted file can neither
run code nor make the loader allocate what the file does not hold. ``gputensor.save`` now writes
torch's format; ``save`` here is kept so tests can still produce files in this older format.
"""
from __future__ import annotations

import io
import json
import math
import os
from collections import Counter, OrderedDict
from typing import Any, Callable

import numpy as np

from .. import _dtype as dt
from .._device import canonical, device as Device
from ..backends import cuda_available, get_backend
from ..tensor import Tensor
from ._atomic import atomic_write
from ._errors import LoadError
from ._zipcheck import Archive, damaged

_FORMAT = "gputensor-checkpoint"
_VERSION = 1
_MANIFEST = "__manifest__"
_CONTAINERS = {"list": list, "tuple": tuple}
_MAPPINGS = {"dict": dict, "odict": OrderedDict, "counter": Counter}
_MAX_NPY_HEADER = 1 << 16


class _Encoder:
    """Walks an object, turning it into JSON and collecting its arrays (shared tensors once)."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self._keys: dict[int, str] = {}

    def encode(self, obj, path: str = "obj"):
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, Tensor):
            return {"t": "tensor", "key": self._array(obj, obj._backend.to_numpy(obj._data)),
                    "dtype": obj.dtype.name, "device": str(obj.device),
                    "requires_grad": obj.requires_grad}
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "biuf":
                raise TypeError(f"gputensor.save: {path} is a NumPy array of dtype {obj.dtype}; "
                                "only bool, integer and float arrays can be saved")
            return {"t": "ndarray", "key": self._array(obj, obj)}
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, dt.dtype):
            return {"t": "dtype", "v": obj.name}
        if isinstance(obj, Device):
            return {"t": "device", "v": str(obj)}
        if isinstance(obj, dict):
            tag = ("counter" if isinstance(obj, Counter) else
                   "odict" if isinstance(obj, OrderedDict) else "dict")
            return {"t": tag, "items": [[self.encode(k, f"{path} key"),
                                         self.encode(v, f"{path}[{k!r}]")]
                                        for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            return {"t": "tuple" if isinstance(obj, tuple) else "list",
                    "items": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
        raise TypeError(f"gputensor.save: cannot save {path} of type {type(obj).__name__}; "
                        "supported: tensors, NumPy arrays, dicts, lists, tuples, numbers, "
                        "strings, bools and None")

    def _array(self, owner, array: np.ndarray) -> str:
        key = self._keys.get(id(owner))
        if key is None:
            key = self._keys[id(owner)] = f"a{len(self._keys)}"
            self.arrays[key] = array
        return key


def _write_npz(fileobj, arrays: dict[str, np.ndarray]) -> None:
    np.savez(fileobj, **arrays)


def save(obj: Any, f, _use_new_zipfile_serialization: bool = True, pickle_module=None,
         pickle_protocol: int = 2) -> None:
    """Write ``obj`` to a path (atomically) or to a writable binary file object."""
    enc = _Encoder()
    manifest = {"format": _FORMAT, "version": _VERSION, "root": enc.encode(obj)}
    arrays = dict(enc.arrays)
    arrays[_MANIFEST] = np.frombuffer(json.dumps(manifest).encode("utf-8"), dtype=np.uint8)
    if not isinstance(f, (str, os.PathLike)):
        _write_npz(f, arrays)
        return
    with atomic_write(f) as fh:
        _write_npz(fh, arrays)


class _Decoder:
    def __init__(self, archive, place: Callable[[Tensor, str], Tensor]):
        self._archive, self._place = archive, place
        self._tensors: dict[str, Tensor] = {}

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or "t" not in node:
            raise ValueError(f"unexpected manifest entry {node!r:.80}")
        tag = node["t"]
        if tag == "tensor":
            return self._tensor(node)
        if tag == "ndarray":
            return self._archive[node["key"]]
        if tag == "dtype":
            return dt.to_dtype(node["v"])
        if tag == "device":
            return Device(node["v"])
        if tag in _MAPPINGS:
            return _MAPPINGS[tag]({_hashable(self.decode(k)): self.decode(v)
                                   for k, v in node["items"]})
        if tag in _CONTAINERS:
            return _CONTAINERS[tag](self.decode(v) for v in node["items"])
        raise ValueError(f"unknown manifest tag {tag!r}")

    def _tensor(self, node) -> Tensor:
        key = node["key"]
        if key not in self._tensors:
            arr = self._archive[key]
            if arr.dtype != dt.to_dtype(node["dtype"]).np:
                raise ValueError(f"entry {key} holds {arr.dtype} data but the manifest says "
                                 f"{node['dtype']}")
            t = self._place(Tensor._make(arr, canonical("cpu")), node["device"])
            if node["requires_grad"]:
                t.requires_grad_(True)
            self._tensors[key] = t
        return self._tensors[key]


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, (list, tuple)) else key


def _to_device(t: Tensor, dev: Device | str, name: str) -> Tensor:
    raw = dev if isinstance(dev, Device) else Device(dev)
    if raw.type == "cuda" and not cuda_available():
        raise LoadError(f"gputensor.load: {name} holds a tensor saved on {raw}, but CUDA is "
                           "not available; pass map_location='cpu' to load it on the cpu")
    if raw.type == "cpu":
        return t
    count = get_backend("cuda").count
    if raw.index is not None and raw.index >= count:
        raise RuntimeError(f"Attempting to deserialize object on CUDA device {raw.index} but "
                           f"torch.cuda.device_count() is {count}. Please use torch.load with "
                           "map_location to map your storages to an existing device.")
    dev = canonical(raw)
    return Tensor._make(get_backend(dev.type).from_numpy(t._data, dev.index), dev)


def _placer(map_location, name: str) -> Callable[[Tensor, str], Tensor]:
    """How a loaded (cpu) tensor reaches its device, following torch's ``map_location`` forms."""
    if map_location is None:
        return lambda t, loc: _to_device(t, loc, name)
    if isinstance(map_location, (str, Device, int)):
        target = canonical(map_location)
        return lambda t, loc: _to_device(t, target, name)
    if isinstance(map_location, dict):
        table = {Device(k): v for k, v in map_location.items()}  # compared as written
        return lambda t, loc: _to_device(t, table.get(Device(loc), loc), name)
    if callable(map_location):
        def call(t: Tensor, loc: str) -> Tensor:
            out = map_location(t, loc)
            return _to_device(t, loc, name) if out is None else out
        return call
    raise TypeError(f"map_location should be None, a device, a string, a dict or a callable, "
                    f"got {type(map_location).__name__}")


def is_npz_checkpoint(archive: Archive) -> bool:
    return f"{_MANIFEST}.npy" in archive.names


class _Members:
    """``members[key]``: the array in ``key.npy``, its header checked against the member's size
    before the data is allocated (a forged header cannot make the loader allocate gigabytes)."""

    def __init__(self, archive: Archive):
        self._archive = archive

    def __getitem__(self, key: str) -> np.ndarray:
        member, name = f"{key}.npy", self._archive.name
        if member not in self._archive.names:
            raise KeyError(f"{member} is missing")
        size = self._archive.size(member)
        with self._archive.open(member) as fh:
            head = io.BytesIO(fh.read(min(size, _MAX_NPY_HEADER)))
        try:
            version = np.lib.format.read_magic(head)
            reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                      else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = reader(head)
        except ValueError as e:
            raise damaged(name, f"{member} has a bad .npy header: {e}") from e
        if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None:
            raise damaged(name, f"{member} holds {dtype} data; only bool/int/float arrays load")
        if any(type(d) is not int or d < 0 for d in shape):
            raise damaged(name, f"{member} declares a bad shape {shape!r:.60}")
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes != size - head.tell():
            raise damaged(name, f"{member} declares shape {shape} of {dtype} ({nbytes} bytes) but "
                                f"holds {size - head.tell()} bytes of data")
        raw = self._archive.read_array(member, nbytes, skip=head.tell())
        arr = raw.view(dtype).reshape(shape, order="F" if fortran else "C")
        return arr.astype(dtype.newbyteorder("="), copy=False) if not dtype.isnative else arr


def load_npz(archive: Archive, place: Callable[[Tensor, str], Tensor]) -> Any:
    """Read a checkpoint in gputensor's earlier npz + JSON manifest format."""
    members = _Members(archive)
    raw = members[_MANIFEST]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise damaged(archive.name, "the manifest is not a byte string")
    manifest = json.loads(raw.tobytes().decode("utf-8"))
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise ValueError("missing gputensor manifest")
    if manifest.get("version") != _VERSION:
        raise ValueError(f"unsupported checkpoint version {manifest.get('version')!r}")
    return _Decoder(members, place).decode(manifest["root"])
