"""gputensor: a GPU-accelerated tensor engine with PyTorch's API (``import gputensor as torch``)."""
from __future__ import annotations

from . import _dtype
from ._device import device
from ._dtype import (bool_ as bool, dtype, finfo, float16, float32, float64, get_default_dtype,
                     iinfo, int8, int16, int32, int64, promote_types, set_default_dtype, uint8)
from .tensor import Size, Tensor
from ._generator import Generator
from . import autograd
from .autograd import (enable_grad, inference_mode, is_grad_enabled,  # noqa: F401
                       is_inference_mode_enabled, no_grad, set_grad_enabled)
from . import ops
from .ops.creation import *  # noqa: F401,F403
from .ops.convert import *  # noqa: F401,F403
from .ops.elementwise import *  # noqa: F401,F403
from .ops.reduce import *  # noqa: F401,F403
from .ops.shape import *  # noqa: F401,F403
from .ops.linalg import *  # noqa: F401,F403
from .ops.pointwise import *  # noqa: F401,F403
from .ops.index import *  # noqa: F401,F403
from .ops.inplace import *  # noqa: F401,F403
from .ops.activation import *  # noqa: F401,F403
from .ops.conv import *  # noqa: F401,F403
from .ops.pool import *  # noqa: F401,F403
from . import cuda
from . import nn, optim, utils  # noqa: E402
from .serialization import load, save  # noqa: E402

half, float, double = float16, float32, float64
long, int, short = int64, int32, int16

__version__ = "0.1.0"


def is_tensor(obj):
    return isinstance(obj, Tensor)


def result_type(tensor1, tensor2) -> dtype:
    return _dtype.result_type(tensor1, tensor2)


def numel(input: Tensor) -> int:
    return input.numel()
