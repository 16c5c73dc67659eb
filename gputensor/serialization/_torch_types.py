"""Names torch's checkpoint format uses for element types, and the gputensor dtypes behind them.

A torch pickle refers to storages by class (``torch.FloatStorage``) in legacy files and to dtypes
by global (``torch.float32``) in zip files written since torch 1.x's typed-storage rework. Both the
reader and the writer of that format look names up here, so the two can never disagree.
"""
from __future__ import annotations

from .. import _dtype as dt

# gputensor dtype name -> (torch storage class name, torch dtype attribute name)
_TABLE = {
    "bool": ("BoolStorage", "bool"),
    "uint8": ("ByteStorage", "uint8"),
    "int8": ("CharStorage", "int8"),
    "int16": ("ShortStorage", "int16"),
    "int32": ("IntStorage", "int32"),
    "int64": ("LongStorage", "int64"),
    "float16": ("HalfStorage", "float16"),
    "float32": ("FloatStorage", "float32"),
    "float64": ("DoubleStorage", "float64"),
}

STORAGE_TO_DTYPE: dict[str, dt.dtype] = {s: dt.to_dtype(n) for n, (s, _) in _TABLE.items()}
TORCH_NAME_TO_DTYPE: dict[str, dt.dtype] = {t: dt.to_dtype(n) for n, (_, t) in _TABLE.items()}
# torch's aliases for the same dtypes (``torch.float`` is ``torch.float32`` ...)
TORCH_NAME_TO_DTYPE.update({"float": dt.float32, "double": dt.float64, "half": dt.float16,
                            "long": dt.int64, "int": dt.int32, "short": dt.int16})
# torch types gputensor cannot hold yet: loading them fails with a message naming them
UNSUPPORTED = {"BFloat16Storage": "bfloat16", "ComplexFloatStorage": "complex64",
               "ComplexDoubleStorage": "complex128", "bfloat16": "bfloat16",
               "complex64": "complex64", "complex128": "complex128", "cfloat": "complex64",
               "cdouble": "complex128", "float8_e4m3fn": "float8_e4m3fn",
               "float8_e5m2": "float8_e5m2", "uint16": "uint16", "uint32": "uint32",
               "uint64": "uint64", "QInt8Storage": "qint8", "QUInt8Storage": "quint8"}


def storage_name(d: dt.dtype) -> str:
    """``torch.<name>`` of the legacy storage class holding ``d`` (``FloatStorage`` ...)."""
    return _TABLE[d.name][0]


def torch_dtype_name(d: dt.dtype) -> str:
    """``torch.<name>`` of the dtype ``d`` (``float32`` ...)."""
    return _TABLE[d.name][1]
