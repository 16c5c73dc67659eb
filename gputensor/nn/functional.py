"""``gputensor.nn.functional`` (import as ``F``): stateless forms of the nn layers and losses."""
from __future__ import annotations

from ..ops.activation import *  # noqa: F401,F403
from ..ops.attention import *  # noqa: F401,F403
from ..ops.conv import *  # noqa: F401,F403
from ..ops.loss import *  # noqa: F401,F403
from ..ops.pool import *  # noqa: F401,F403
from ..ops.pointwise import *  # noqa: F401,F403  (relu, sigmoid, tanh ...)
