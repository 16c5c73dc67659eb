"""gputensor: a GPU-accelerated tensor engine with PyTorch's API (``import gputensor as torch``)."""
from __future__ import annotations

from . import _dtype
from ._device import AcceleratorError, device, get_default_device, set_default_device
from ._dtype import (bool_ as bool, dtype, finfo, float16, float32, float64, get_default_dtype,
                     iinfo, int8, int16, int32, int64, promote_types, set_default_dtype, uint8)
from .tensor import Size, Tensor
from ._generator import Generator
from ._format import set_printoptions  # noqa: F401
from . import autograd
from .autograd import is_anomaly_check_nan_enabled, is_anomaly_enabled  # noqa: F401
from .autograd import (enable_grad, inference_mode, is_grad_enabled,  # noqa: F401
                       is_inference_mode_enabled, no_grad, set_grad_enabled)
from . import ops
from .ops.creation import *  # noqa: F401,F403
from .ops.convert import *  # noqa: F401,F403
from .ops.elementwise import *  # noqa: F401,F403
from .ops.reduce import *  # noqa: F401,F403
from .ops.reduce_stats import *  # noqa: F401,F403
from .ops.scan import *  # noqa: F401,F403
from .ops.sort import *  # noqa: F401,F403
from .ops.scatter import *  # noqa: F401,F403
from .ops.histogram import *  # noqa: F401,F403
from .ops.pointwise_more import *  # noqa: F401,F403
from .ops.shape import *  # noqa: F401,F403
from .ops.join_split import *  # noqa: F401,F403
from .ops.diagonals import *  # noqa: F401,F403
from .ops.linalg import *  # noqa: F401,F403
from .ops.einsum import *  # noqa: F401,F403
from .ops.linalg_decomp import *  # noqa: F401,F403
from .ops.special_math import *  # noqa: F401,F403
from .ops.stats import *  # noqa: F401,F403
from .ops.linalg_spectral import *  # noqa: F401,F403
from .ops.linalg_decomp import legacy_qr as qr  # noqa: F401
from .ops.linalg_spectral import legacy_svd as svd  # noqa: F401
from .ops.linalg_lu import lu_unpack, legacy_lu as lu, legacy_lu_solve as lu_solve  # noqa: F401,E501
from .ops.shape_more import *  # noqa: F401,F403
from .ops.shape_compose import *  # noqa: F401,F403
from .ops.sampling import *  # noqa: F401,F403
from .ops.distance import *  # noqa: F401,F403  (torch.cosine_similarity, torch.cdist ...)
from .ops.pointwise import *  # noqa: F401,F403
from .ops.compare import *  # noqa: F401,F403
from .ops.index import *  # noqa: F401,F403
from .ops.index_ops import *  # noqa: F401,F403
from .ops.inplace import *  # noqa: F401,F403
from .ops.activation import *  # noqa: F401,F403
from .ops.activation_more import (celu, celu_, hardshrink, prelu, relu_, rrelu,  # noqa: F401
                                 rrelu_, selu, selu_, threshold, threshold_)
from .ops.nn_layers_more import bilinear  # noqa: F401  (torch.embedding_bag differs from F.)
from .ops.conv import *  # noqa: F401,F403
from .ops.pool import *  # noqa: F401,F403
from .ops.conv_transpose import *  # noqa: F401,F403
from .ops.conv3d import *  # noqa: F401,F403
from .ops.conv_transpose3d import *  # noqa: F401,F403
from .ops.pixel_shuffle import *  # noqa: F401,F403
from .ops.pool3d import max_pool3d  # noqa: F401
from .ops.tensor_misc import *  # noqa: F401,F403
from .ops.inplace_more import *  # noqa: F401,F403
from .ops.windows import *  # noqa: F401,F403
from .ops.numeric_misc import *  # noqa: F401,F403
from .ops.dropout_forms import *  # noqa: F401,F403
from .ops.nn_misc import channel_shuffle, native_channel_shuffle  # noqa: F401
from .ops.norms_more import rms_norm  # noqa: F401
from .ops.pool_more import max_pool1d_with_indices  # noqa: F401
from ._runtime import *  # noqa: F401,F403
from ._compat import *  # noqa: F401,F403
from ._vmap import vmap  # noqa: F401
from ._dlpack import from_dlpack, to_dlpack  # noqa: F401
from .ops.pointwise_misc import *  # noqa: F401,F403
from .ops.stats_misc import *  # noqa: F401,F403
from .ops.shape_misc import *  # noqa: F401,F403
from .ops.strided import *  # noqa: F401,F403
from .ops.aten_forms import *  # noqa: F401,F403
from .ops.loss_torch import *  # noqa: F401,F403  (torch.kl_div ...: int reduction)
from . import cuda
from . import accelerator, backends  # noqa: E402
from ._legacy import *  # noqa: F401,F403,E402  (FloatTensor, LongTensor, ...)
from . import nn, optim, utils  # noqa: E402
from . import linalg  # noqa: E402
from . import random  # noqa: E402,F401  (torch.random.fork_rng ...)
from . import special  # noqa: E402,F401
from .serialization import load, save  # noqa: E402
from ._layout import layout, sparse_coo, strided  # noqa: E402,F401
from ._memory_format import *  # noqa: E402,F401,F403  (channels_last ...)
from .ops.sparse_ops import sparse_coo_tensor  # noqa: E402,F401
from .ops.sparse_math import spmm  # noqa: E402,F401
from . import sparse  # noqa: E402,F401

half, float, double = float16, float32, float64
long, int, short = int64, int32, int16

__version__ = "0.1.0"


def is_tensor(obj):
    return isinstance(obj, Tensor)


def result_type(tensor1, tensor2) -> dtype:
    return _dtype.result_type(tensor1, tensor2)


def numel(input: Tensor) -> int:
    return input.numel()


# Keep last: give every public function torch's axis=/keepdims=/out= keyword forms.
from ._torch_args import adapt_namespace as _adapt_namespace  # noqa: E402
_adapt_namespace(globals())


_LAZY_SUBPACKAGES = ("onnx", "distributed", "multiprocessing")


def __getattr__(name: str):  # these load on first use (onnx imports the onnx package)
    if name in _LAZY_SUBPACKAGES:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'gputensor' has no attribute {name!r}")
