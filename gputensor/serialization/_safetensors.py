"""``.safetensors`` files (the format Hugging Face models ship in), through the ``safetensors``
package's NumPy API, with ``safetensors.torch``'s rules and messages.

Saving refuses what ``safetensors.torch.save_file`` refuses (non-tensors, sparse, non-contiguous,
tensors sharing memory) and writes paths crash-safely (``atomic_write``). Loading leaves header
validation (offsets past the end, overlaps, size overflow, bad JSON) to the package's Rust parser
and reports any failure as a ``LoadError`` naming the file; dtypes gputensor cannot hold (bf16,
float8, complex, wide unsigned) are refused by name before any data is read.
"""
from __future__ import annotations

import json
import os
from typing import IO, Union

import numpy as np

from .._device import canonical, device as Device
from ..backends import cuda_available, get_backend
from ..tensor import Tensor
from ._atomic import atomic_write
from ._errors import LoadError

Source = Union[str, os.PathLike, IO[bytes], bytes, bytearray, memoryview]

_MAX_HEADER = 100_000_000  # the safetensors parser's own limit
# safetensors dtype code -> NumPy dtype, for the dtypes gputensor holds
_TO_NUMPY = {"BOOL": np.dtype(np.bool_), "U8": np.dtype(np.uint8), "I8": np.dtype(np.int8),
             "I16": np.dtype(np.int16), "I32": np.dtype(np.int32), "I64": np.dtype(np.int64),
             "F16": np.dtype(np.float16), "F32": np.dtype(np.float32),
             "F64": np.dtype(np.float64)}
# codes of other dtypes, with torch's names for them (for the error message)
_UNSUPPORTED = {"BF16": "torch.bfloat16", "F8_E4M3": "torch.float8_e4m3fn",
                "F8_E5M2": "torch.float8_e5m2", "F8_E4M3FNUZ": "torch.float8_e4m3fnuz",
                "F8_E5M2FNUZ": "torch.float8_e5m2fnuz", "F8_E8M0": "torch.float8_e8m0fnu",
                "F4": "torch.float4_e2m1fn_x2", "C64": "torch.complex64",
                "U16": "torch.uint16", "U32": "torch.uint32", "U64": "torch.uint64"}


class _NotATensorError(TypeError, ValueError):
    """A value that is not a tensor: a TypeError, and the ValueError safetensors.torch raises."""


def _safetensors():
    try:
        import safetensors
        import safetensors.numpy
    except ImportError as e:  # a declared dependency, but say what is missing if it is not there
        raise ImportError("gputensor's safetensors support needs the 'safetensors' package "
                          "(pip install safetensors)") from e
    return safetensors


# -- saving -----------------------------------------------------------------------------------
def _byte_range(t: Tensor) -> tuple[int, int]:
    """[first, last + 1) bytes a tensor's elements occupy in its storage."""
    a = t._data
    lo = hi = t.data_ptr()
    for n, s in zip(a.shape, a.strides):
        if s < 0:
            lo += (n - 1) * s
        else:
            hi += (n - 1) * s
    return lo, hi + a.itemsize


def _shared_groups(tensors: dict[str, Tensor]) -> list[set[str]]:
    """Sets of names whose tensors overlap in memory (safetensors.torch's shared-tensor rule)."""
    ranges = sorted((str(t.device), *_byte_range(t), k) for k, t in tensors.items()
                    if t.numel() > 0)
    groups: list[set[str]] = []
    last_dev, last_stop = None, 0
    for dev, start, stop, name in ranges:
        if dev == last_dev and start < last_stop:
            groups[-1].add(name)
            last_stop = max(last_stop, stop)
        else:
            groups.append({name})
            last_dev, last_stop = dev, stop
    return [g for g in groups if len(g) > 1]


def _check_for_save(tensors) -> None:
    if not isinstance(tensors, dict):
        raise ValueError(f"Expected a dict of [str, torch.Tensor] but received {type(tensors)}")
    sparse = []
    for k, v in tensors.items():
        if not isinstance(v, Tensor):
            raise _NotATensorError(f"Key `{k}` is invalid, expected torch.Tensor but received "
                                   f"{type(v)}")
        if getattr(v, "is_sparse", False):
            sparse.append(k)
    if sparse:
        raise ValueError(
            f"You are trying to save a sparse tensors: `{sparse}` which this library does not "
            "support. You can make it a dense tensor before saving with `.to_dense()` but be "
            "aware this might make a much larger file than needed.")
    failing = _shared_groups(tensors)
    if failing:
        pad = " " * 12  # safetensors.torch's message, indentation and all
        raise RuntimeError(
            f"\n{pad}Some tensors share memory, this will lead to duplicate memory on disk and "
            f"potential differences when loading them again: {failing}.\n{pad}A potential way "
            f"to correctly save your model is to use `save_model`.\n{pad}More information at "
            f"https://huggingface.co/docs/safetensors/torch_shared_tensors\n{pad}")
    for k, v in tensors.items():
        if not v.is_contiguous():
            raise ValueError(
                f"You are trying to save a non contiguous tensor: `{k}` which is not allowed. It "
                "either means you are trying to save tensors which are reference of each other "
                "in which case it's recommended to save only the full tensors, and reslice at "
                "load time, or simply call `.contiguous()` on your tensor to pack it before "
                "saving.")


def save_safetensors(tensors: dict[str, Tensor], f: Union[str, os.PathLike, IO[bytes]],
                     metadata: dict[str, str] | None = None) -> None:
    """Write ``tensors`` as a ``.safetensors`` file (``safetensors.torch.save_file``'s rules).

    ``f`` is a path (written crash-safely: the old file survives an interrupted save) or a
    writable binary file object. cuda tensors are copied to the host.
    """
    _check_for_save(tensors)
    arrays = {k: np.asarray(t._backend.to_numpy(t._data), order="C")  # keeps 0-d 0-d
              for k, t in tensors.items()}
    data = _safetensors().numpy.save(arrays, metadata=metadata)
    if isinstance(f, (str, os.PathLike)):
        with atomic_write(f) as fh:
            fh.write(data)
    else:
        f.write(data)


# -- loading ----------------------------------------------------------------------------------
def _name(f) -> str:
    if isinstance(f, (str, os.PathLike)):
        return os.fsdecode(os.fspath(f))
    if isinstance(f, (bytes, bytearray, memoryview)):
        return "<bytes>"
    return str(getattr(f, "name", "<file object>"))


def _numpy_dtype(code: str, key: str, name: str) -> np.dtype:
    if code in _TO_NUMPY:
        return _TO_NUMPY[code]
    torch_name = f" ({_UNSUPPORTED[code]})" if code in _UNSUPPORTED else ""
    raise LoadError(f"gputensor.load_safetensors: {name}: tensor {key!r} has dtype "
                    f"{code}{torch_name}, which gputensor does not support (supported: "
                    f"{', '.join(_TO_NUMPY)})")


def _placer(device, name: str):
    dev = canonical(device)
    if dev.type == "cuda" and not cuda_available():
        raise RuntimeError(f"gputensor.load_safetensors: cannot load {name} onto {dev}: CUDA is "
                           "not available")
    if dev.type == "cpu":
        return lambda a: Tensor._make(a if a.flags.writeable else a.copy(), dev)
    backend = get_backend(dev.type)
    return lambda a: Tensor._make(backend.from_numpy(a, dev.index), dev)


def _invalid(name: str, e: Exception) -> LoadError:
    return LoadError(f"gputensor.load_safetensors: {name} is not a valid safetensors file "
                     f"(truncated or corrupted?): {e}")


def _read_all(f) -> bytes | bytearray:
    if isinstance(f, (bytes, bytearray)):
        return f
    if isinstance(f, memoryview):
        return f.tobytes()
    return f.read()


def _file_order(keys, header: dict) -> list[str]:
    """Keys in the order their data lies in the file (names break ties of empty tensors)."""
    return sorted(keys, key=lambda k: (*header[k]["data_offsets"], k))


def _read_header_of(path, name: str) -> dict:
    with open(path, "rb") as fh:
        first = fh.read(8)
        n = int.from_bytes(first, "little")
        return _header(first + fh.read(min(n, _MAX_HEADER)), name, None)


def load_safetensors(f: Source, device: Union[str, Device, int] = "cpu") -> dict[str, Tensor]:
    """Read a ``.safetensors`` file (path, binary file object or bytes) into tensors on
    ``device``, in file order (as ``safetensors.torch.load_file``)."""
    st = _safetensors()
    name = _name(f)
    place = _placer(device, name)
    out: dict[str, Tensor] = {}
    if isinstance(f, (str, os.PathLike)):
        try:
            with st.safe_open(os.fspath(f), framework="np") as fh:
                keys = _file_order(fh.keys(), _read_header_of(f, name))
                codes = {k: fh.get_slice(k).get_dtype() for k in keys}
                for k in keys:
                    _numpy_dtype(codes[k], k, name)
                for k in keys:
                    out[k] = place(fh.get_tensor(k))
        except st.SafetensorError as e:
            raise _invalid(name, e) from e
        return out
    data = _read_all(f)
    try:
        entries = st.deserialize(data)
    except st.SafetensorError as e:
        raise _invalid(name, e) from e
    order = {k: i for i, k in enumerate(_file_order([k for k, _ in entries],
                                                    _header(data, name, len(data))))}
    entries.sort(key=lambda kv: order[kv[0]])
    for k, v in entries:
        _numpy_dtype(v["dtype"], k, name)
    for k, v in entries:
        np_dtype = _numpy_dtype(v["dtype"], k, name)
        arr = np.frombuffer(v["data"], dtype=np_dtype.newbyteorder("<")).reshape(v["shape"])
        out[k] = place(arr.astype(np_dtype, copy=not arr.flags.writeable))
    return out


def _header(head: bytes | bytearray, name: str, size: int | None) -> dict:
    """The parsed JSON header of a file whose first bytes are ``head``."""
    if len(head) < 8:
        raise LoadError(f"gputensor.load_safetensors: {name} is not a valid safetensors file: "
                        "header too small")
    n = int.from_bytes(head[:8], "little")
    if n > _MAX_HEADER or (size is not None and 8 + n > size) or len(head) < 8 + n:
        raise LoadError(f"gputensor.load_safetensors: {name} is not a valid safetensors file: "
                        f"invalid header length {n}")
    try:
        header = json.loads(bytes(head[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise _invalid(name, e) from e
    if not isinstance(header, dict):
        raise _invalid(name, ValueError("the header is not a JSON object"))
    return header


def load_safetensors_metadata(f: Source) -> dict[str, str] | None:
    """The ``__metadata__`` text mapping of a ``.safetensors`` file (None if it has none),
    reading only the header."""
    name = _name(f)
    if isinstance(f, (str, os.PathLike)):
        st = _safetensors()
        try:
            with st.safe_open(os.fspath(f), framework="np") as fh:
                return fh.metadata()
        except st.SafetensorError as e:
            raise _invalid(name, e) from e
    if isinstance(f, (bytes, bytearray, memoryview)):
        head, size = bytes(f[:8 + _MAX_HEADER]), len(f)
    else:
        first = f.read(8)
        n = int.from_bytes(first, "little") if len(first) == 8 else 0
        head, size = first + f.read(min(n, _MAX_HEADER + 1)), None
    meta = _header(head, name, size).get("__metadata__")
    if meta is not None and not (isinstance(meta, dict) and
                                 all(isinstance(v, str) for v in meta.values())):
        raise _invalid(name, ValueError("__metadata__ must map strings to strings"))
    return meta


def looks_like_safetensors(head: bytes, size: int | None = None) -> bool:
    """Content sniffing: a little-endian u64 header length that fits the file (``size`` when
    known, else the parser's 100 MB limit), then the header's opening ``{``."""
    if len(head) < 9:
        return False
    n = int.from_bytes(head[:8], "little")
    limit = _MAX_HEADER if size is None else min(_MAX_HEADER, size - 8)
    return 2 <= n <= limit and head[8:9] == b"{"


__all__ = ["save_safetensors", "load_safetensors", "load_safetensors_metadata",
           "looks_like_safetensors"]
