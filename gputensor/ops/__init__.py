"""Ops: autograd ``Function``s written once against the backend interface, plus their public
functions (each also a ``Tensor`` method). Every module lists its public names in ``__all__``."""
from . import (activation, conv, convert, creation, elementwise, index, inplace, linalg,  # noqa: F401
               loss, pointwise, pool, reduce, shape)
from . import loss_ctc, loss_more, loss_torch  # noqa: F401,E402
from . import attention  # noqa: F401,E402
from . import activation_more, nn_layers_more  # noqa: F401,E402
from . import histogram, pointwise_more, scan, scatter, sort  # noqa: F401,E402
from . import conv_transpose, conv3d, interpolate, pixel_shuffle, pool3d, unpool  # noqa: F401,E402
from . import conv_transpose3d  # noqa: F401,E402
from . import einsum as _einsum_mod, shape_more  # noqa: F401,E402
from . import sparse_math, sparse_ops  # noqa: F401,E402
from . import linalg_decomp, linalg_lu, linalg_spectral, special_math, stats  # noqa: F401,E402
from . import tensor_misc, inplace_more, inplace_views, windows, numeric_misc, dropout_forms  # noqa: F401,E402
from . import pointwise_misc, stats_misc, shape_misc  # noqa: F401,E402
from . import strided, aten_forms  # noqa: F401,E402
from . import compare, diagonals, index_ops, join_split, reduce_stats  # noqa: F401,E402
