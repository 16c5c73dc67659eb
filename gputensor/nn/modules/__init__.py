"""Layer classes, one family per file; each file lists its public classes in ``__all__``."""
from .module import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .loss_more import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .pooling_more import *  # noqa: F401,F403
from .instancenorm import *  # noqa: F401,F403
from .normalization_more import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .channelshuffle import *  # noqa: F401,F403
from .dropout_more import *  # noqa: F401,F403
from .container_more import *  # noqa: F401,F403
from .lazy import *  # noqa: F401,F403
from .batchnorm_sync import *  # noqa: F401,F403
# torch's file names for layers defined above (aliases resolve names lazily; see _alias)
from . import adaptive, batchnorm, linear_cross_entropy_options, utils  # noqa: F401,E402

# ``from .modules import *`` (in gputensor.nn) takes the layer classes only, not the submodules
# (``nn.modules.utils`` must not shadow ``nn.utils``).
__all__ = sorted({name for mod in (module, container, linear, flatten, padding, activation,  # noqa: F405
                                   conv, pooling, pixelshuffle, upsampling, dropout,  # noqa: F405
                                   normalization, sparse, loss, loss_more, rnn, transformer,  # noqa: F405
                                   pooling_more, instancenorm, normalization_more,  # noqa: F405
                                   distance, fold, channelshuffle, dropout_more,  # noqa: F405
                                   container_more, lazy, batchnorm_sync)  # noqa: F405
                  for name in mod.__all__})
