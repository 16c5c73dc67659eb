"""Datasets for the examples: scikit-learn's bundled digits (offline default) and real MNIST from
the standard IDX files (gzip or raw)."""
from __future__ import annotations

import gzip
import os
import struct

import numpy as np

# IDX type codes -> NumPy big-endian dtypes (http://yann.lecun.com/exdb/mnist/ format).
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into an array of its declared shape and type."""
    with open(path, "rb") as fh:
        head = fh.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4:
        raise ValueError(f"{path}: too short to be an IDX file ({len(raw)} bytes)")
    zero, type_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or type_code not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (magic bytes {raw[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[type_code])
    count = int(np.prod(dims)) if dims else 1
    body = raw[4 + 4 * ndim:]
    if len(body) != count * dtype.itemsize:
        raise ValueError(f"{path}: header declares shape {dims} ({count * dtype.itemsize} bytes) "
                         f"but the file holds {len(body)} data bytes")
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _find(data_dir: str, stem: str) -> str:
    for name in (stem, stem + ".gz"):
        p = os.path.join(data_dir, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{stem}[.gz] not found in {data_dir}")


def load_mnist(data_dir: str):
    """(x_train, y_train, x_test, y_test): images as float32 (N, 1, 28, 28) in [0, 1]."""
    parts = []
    for split in ("train", "t10k"):
        x = read_idx(_find(data_dir, f"{split}-images-idx3-ubyte"))
        y = read_idx(_find(data_dir, f"{split}-labels-idx1-ubyte"))
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"MNIST {split}: images {x.shape} and labels {y.shape} don't match")
        parts += [(x.astype(np.float32) / 255.0)[:, None], y.astype(np.int64)]
    return tuple(parts)


def load_digits(test_fraction: float = 0.2, seed: int = 0):
    """scikit-learn's 1797 bundled 8x8 digits, shuffled and split; float32 (N, 1, 8, 8) in [0, 1]."""
    from sklearn.datasets import load_digits as _load
    d = _load()
    x = (d.images.astype(np.float32) / 16.0)[:, None]
    y = d.target.astype(np.int64)
    idx = np.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    te, tr = idx[:n_test], idx[n_test:]
    return x[tr], y[tr], x[te], y[te]
