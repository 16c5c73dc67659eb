"""``gputensor.sparse``: torch.sparse's functions on sparse COO tensors (scipy.sparse on cpu,
cupyx.scipy.sparse on a GPU). The tensor type is ``gputensor._sparse.SparseTensor``."""
from __future__ import annotations

from .. import _dtype as dt
from ..ops.sparse_math import addmm, log_softmax, mm, softmax
from ..ops.sparse_math import sparse_sum as sum  # noqa: A001  (torch.sparse.sum)
from ..ops.sparse_ops import _LegacySparse

# torch.sparse.FloatTensor(indices, values, size): legacy constructors GCN code still uses
FloatTensor = _LegacySparse(dt.float32)
DoubleTensor = _LegacySparse(dt.float64)
HalfTensor = _LegacySparse(dt.float16)
LongTensor = _LegacySparse(dt.int64)
IntTensor = _LegacySparse(dt.int32)
ByteTensor = _LegacySparse(dt.uint8)
BoolTensor = _LegacySparse(dt.bool_)

__all__ = ["mm", "addmm", "sum", "softmax", "log_softmax", "FloatTensor", "DoubleTensor",
           "HalfTensor", "LongTensor", "IntTensor", "ByteTensor", "BoolTensor"]
