"""``gputensor.nn.functional`` (import as ``F``): stateless forms of the nn layers and losses."""
from __future__ import annotations

from ..ops.activation import *
from ..ops.attention import *
from ..ops.conv import *
from ..ops.loss import *
from ..ops.pointwise import *  # relu, sigmoid, tanh ...
from ..ops.pool import *

# isort: split
from ..ops.nn_functional import *  # last: its relu takes ``inplace``, as F.relu does
