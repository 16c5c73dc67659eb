"""``gputensor.nn.functional`` (import as ``F``): stateless forms of the nn layers and losses."""
from __future__ import annotations

from ..ops.activation import *
from ..ops.activation_more import *
from ..ops.nn_layers_more import *
from ..ops.attention import *
from ..ops.conv import *
from ..ops.loss import *
from ..ops.loss_more import *  # noqa: F401,F403
from ..ops.loss_ctc import *  # noqa: F401,F403
from ..ops.pointwise import *  # relu, sigmoid, tanh ...
from ..ops.compare import *  # noqa: F401,F403  (eq, isnan ... as F had them)
from ..ops.pool import *
from ..ops.conv_transpose import *  # noqa: F401,F403
from ..ops.conv3d import *  # noqa: F401,F403
from ..ops.conv_transpose3d import *  # noqa: F401,F403
from ..ops.pool3d import *  # noqa: F401,F403
from ..ops.interpolate import *  # noqa: F401,F403
from ..ops.pixel_shuffle import *  # noqa: F401,F403
from ..ops.unpool import *  # noqa: F401,F403
from ..ops.stats import pdist  # noqa: F401
from ..ops.pool_more import *  # noqa: F401,F403
from ..ops.pool_fractional import *  # noqa: F401,F403
from ..ops.norms_more import *  # noqa: F401,F403
from ..ops.nn_misc import *  # noqa: F401,F403
from ..ops.grid_sample import *  # noqa: F401,F403
from ..ops.distance import *  # noqa: F401,F403

# isort: split
from ..ops.nn_functional import *  # last: its relu takes ``inplace``, as F.relu does
