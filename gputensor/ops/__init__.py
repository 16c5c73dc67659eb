"""Ops: autograd ``Function``s written once against the backend interface, plus their public
functions (each also a ``Tensor`` method). Every module lists its public names in ``__all__``."""
from . import (activation, conv, convert, creation, elementwise, index, inplace, linalg,  # noqa: F401
               loss, pointwise, pool, reduce, shape)
from . import attention  # noqa: F401,E402
