"""Reading the two formats ``torch.save`` writes, without torch.

Zip format (torch >= 1.6): ``<archive>/data.pkl`` is a pickle of the object whose tensors refer to
storages by persistent id ``('storage', storage_type, key, location, numel)``; each storage's raw
bytes are the uncompressed, 64-byte-aligned member ``<archive>/data/<key>`` in the byte order named
by ``<archive>/byteorder``. Legacy format (``_use_new_zipfile_serialization=False``): pickles of
the magic number, protocol version and sys_info, then the object pickle (ids
``('storage', type, key, location, numel, view_metadata)``), then a pickled key list and, per key,
an int64 element count followed by the raw elements.

Every storage's size is checked against the bytes the file really holds before it is allocated,
and tensors are views (``_torch_rebuild``) that are checked to stay inside their storage.
"""
from __future__ import annotations

import io
import mmap as _mmap
import os
import pickle
import struct
import sys
from typing import Any, Callable

import numpy as np

from .._device import CPU
from ..tensor import Tensor
from ._errors import LoadError
from ._torch_rebuild import Forged, Storage, StorageType
from ._zipcheck import Archive, damaged

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

Place = Callable[[Tensor, str], Tensor]
# (file, persistent_load) -> an object with .load()
MakeUnpickler = Callable[[Any, Callable[[Any], Any]], Any]


def _text(v, what: str) -> str:
    v = v.decode("ascii") if isinstance(v, bytes) else v
    if type(v) is not str:
        raise Forged(f"{what} must be a string, got {type(v).__name__}")
    return v


def _storage_type(v) -> StorageType:
    if not isinstance(v, StorageType):
        raise Forged(f"a storage's type must be a torch storage class, got {v!r:.60}")
    return v


def _count(v, what: str) -> int:
    if type(v) is not int or v < 0:
        raise Forged(f"{what} must be a non-negative int, got {v!r:.60}")
    return v


def _placed(place: Place, arr: np.ndarray, location: str, name: str) -> Storage:
    """Hand a filled cpu storage to ``map_location``; keep what comes back as a Storage."""
    t = place(Tensor._make(arr, CPU), location)
    if not isinstance(t, Tensor):
        raise LoadError(f"gputensor.load: {name}: map_location returned {type(t).__name__}, "
                        "expected the storage (a tensor)")
    if t._data.ndim != 1:
        t = t.reshape(-1)
    return Storage(t._data, t._device)


def _swap(arr: np.ndarray, big: bool) -> np.ndarray:
    if big != (sys.byteorder == "big") and arr.itemsize > 1:
        arr.byteswap(inplace=True)
    return arr


def _archive_prefix(archive: Archive) -> str:
    names = archive.names
    pkls = [n[:-len("/data.pkl")] for n in names
            if n.endswith("/data.pkl") and n.count("/") == 1]
    if not pkls:
        if any(n.endswith("constants.pkl") for n in names):
            raise LoadError(f"gputensor.load: {archive.name} is a TorchScript archive; gputensor "
                            "cannot load TorchScript (torch.jit.save) files")
        raise LoadError(f"gputensor.load: {archive.name} is a zip archive but not a torch "
                        "checkpoint (it has no <archive>/data.pkl)")
    first = names[0].split("/", 1)[0]
    return first if first in pkls else pkls[0]


def _byteorder(archive: Archive, prefix: str) -> bool:
    """True for a big-endian checkpoint."""
    member = f"{prefix}/byteorder"
    if member not in archive.names:
        return False
    if archive.size(member) > 16:
        raise damaged(archive.name, "the byteorder record is too long")
    order = archive.read(member)
    if order not in (b"little", b"big"):
        raise damaged(archive.name, f"Unknown endianness type: {order!r:.40}")
    return order == b"big"


def load_zip(archive: Archive, place: Place, make_unpickler: MakeUnpickler,
             mmap_path: str | None = None) -> Any:
    """The object in a torch zip checkpoint; ``mmap_path`` maps storages instead of reading."""
    name = archive.name
    prefix = _archive_prefix(archive)
    big = _byteorder(archive, prefix)
    mapped = None
    if mmap_path is not None:
        with open(mmap_path, "rb") as fh:
            mapped = _mmap.mmap(fh.fileno(), 0, access=_mmap.ACCESS_COPY)  # copy-on-write
    loaded: dict[str, Storage] = {}

    def persistent_load(pid):
        if type(pid) is not tuple or len(pid) != 5:
            raise Forged(f"persistent id {pid!r:.80} is not ('storage', type, key, location, "
                         "numel)")
        _, stype, key, location, numel = pid
        stype, location = _storage_type(stype), _text(location, "storage location")
        key, numel = _text(key, "storage key"), _count(numel, "storage size")
        if "/" in key or "\\" in key or key in ("", ".", ".."):
            raise Forged(f"storage key {key!r:.60} is not a plain record name")
        if key in loaded:
            return loaded[key]
        member = f"{prefix}/data/{key}"
        if member not in archive.names:
            raise damaged(name, f"storage record {member!r} is missing")
        nbytes = numel * stype.dtype.itemsize
        if archive.size(member) != nbytes:
            raise damaged(name, f"storage {key!r} claims {numel} {stype.dtype.name} elements "
                                f"({nbytes} bytes) but its record holds {archive.size(member)} "
                                "bytes")
        if mapped is not None:
            at = archive.data_offset(member)
            if at is None:
                raise LoadError(f"gputensor.load: {name}: mmap=True needs uncompressed storage "
                                f"records, but {member!r} is compressed")
            raw = np.frombuffer(mapped, dtype=np.uint8, count=nbytes, offset=at) if nbytes \
                else np.empty(0, np.uint8)
        else:
            raw = archive.read_array(member, nbytes)
        arr = _swap(raw.view(stype.dtype.np), big)
        loaded[key] = _placed(place, arr, location, name)
        return loaded[key]

    pkl = f"{prefix}/data.pkl"
    data = archive.read(pkl)
    return make_unpickler(io.BytesIO(data), persistent_load).load()


def _small_pickle(f, make_unpickler: MakeUnpickler):
    def refuse(pid):
        raise Forged("a persistent id outside the object pickle")
    return make_unpickler(f, refuse).load()


def load_legacy(f, name: str, place: Place, make_safe: MakeUnpickler,
                make_unpickler: MakeUnpickler) -> Any:
    """The object in a torch checkpoint written with ``_use_new_zipfile_serialization=False``."""
    start = f.tell()
    f.seek(0, io.SEEK_END)
    end = f.tell()
    f.seek(start)
    magic = _small_pickle(f, make_safe)
    if magic != MAGIC_NUMBER:
        raise LoadError(f"gputensor.load: {name}: Invalid magic number; corrupt file? (not a "
                        "torch, safetensors or gputensor checkpoint)")
    protocol = _small_pickle(f, make_safe)
    if protocol != PROTOCOL_VERSION:
        raise LoadError(f"gputensor.load: {name}: Invalid protocol version: {protocol!r:.40}")
    sys_info = _small_pickle(f, make_safe)
    big = isinstance(sys_info, dict) and sys_info.get("little_endian", True) is False
    body = f.tell()
    roots: dict[str, tuple[StorageType, np.ndarray, str]] = {}
    views: dict[str, Storage] = {}
    placed: dict[str, Storage] | None = None
    budget = [end - body]

    def persistent_load(pid):
        if type(pid) is not tuple or len(pid) != 6 or _text(pid[0], "id kind") != "storage":
            raise Forged(f"persistent id {pid!r:.80} is not ('storage', type, key, location, "
                         "size, view)")
        _, stype, key, location, numel, view = pid
        stype, key = _storage_type(stype), _text(key, "storage key")
        location, numel = _text(location, "storage location"), _count(numel, "storage size")
        if key not in roots:
            nbytes = numel * stype.dtype.itemsize
            if nbytes > budget[0]:
                raise damaged(name, f"storage {key!r} claims {nbytes} bytes but the file has "
                                    f"only {budget[0]} left")
            budget[0] -= nbytes
            roots[key] = (stype, np.empty(numel, stype.dtype.np), location)
        elif roots[key][1].shape[0] != numel or roots[key][0].dtype != stype.dtype:
            raise Forged(f"storage {key!r} is described twice with different sizes or types")
        storage = placed[key] if placed is not None else Storage(roots[key][1], CPU)
        if view is None:
            return storage
        if type(view) is not tuple or len(view) != 3:
            raise Forged(f"storage view {view!r:.60} is not (key, offset, size)")
        vkey = _text(view[0], "view key")
        if vkey not in views or placed is not None:
            views[vkey] = storage.view(view[1], view[2])
        return views[vkey]

    # The storages' bytes follow the object pickle, so the pickle is read twice: first to learn
    # the storages (by the restricted unpickler, or, for weights_only=False, by one that turns
    # every global into an inert stand-in, so a trusted file's code still runs exactly once),
    # then, once the data sits on its device, to build the real object.
    safe = make_unpickler is make_safe
    result = (make_safe if safe else _dry_unpickler)(f, persistent_load).load()
    keys = _small_pickle(f, make_safe)
    if not isinstance(keys, list):
        raise Forged("the storage key list is not a list")
    count = struct.Struct(">q" if big else "<q")
    for key in keys:
        key = _text(key, "storage key")
        if key not in roots:
            raise Forged(f"storage key {key!r:.40} was not used by the object pickle")
        stype, arr, _ = roots[key]
        head = f.read(8)
        if len(head) != 8:
            raise damaged(name, f"storage {key!r} is missing its size")
        (n,) = count.unpack(head)
        if n != arr.shape[0]:
            raise damaged(name, f"storage {key!r} holds {n} elements but the pickle says "
                                f"{arr.shape[0]}")
        got = f.readinto(arr.view(np.uint8).data) if arr.nbytes else 0
        if got != arr.nbytes:
            raise damaged(name, f"storage {key!r} ends after {got} of {arr.nbytes} bytes")
        _swap(arr, big)
    placed = {k: _placed(place, arr, loc, name) for k, (_, arr, loc) in roots.items()}
    if safe and all(p.array is roots[k][1] for k, p in placed.items()):
        return result  # every storage stayed where it was read: the views are already right
    f.seek(body)
    return make_unpickler(f, persistent_load).load()


class _Inert:
    """What every global stands for in the first, data-less pass over a trusted legacy pickle:
    it accepts any construction, call, state or item and does nothing."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Inert()

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


def _dry_unpickler(f, persistent_load):
    """A pickle reader that resolves only torch's storage types; every other global is inert."""
    from ._safe_globals import ALLOWED

    class Dry(pickle.Unpickler):
        def find_class(self, module, name):
            found = ALLOWED.get(f"{module}.{name}")
            return found if isinstance(found, StorageType) else _Inert

        def persistent_load(self, pid):
            return persistent_load(pid)

    return Dry(f, encoding="latin1")


def is_path(f) -> bool:
    return isinstance(f, (str, os.PathLike))
