"""torch's import path ``torch.nn.modules.linear_cross_entropy_options``: an alias; gputensor
defines these layers in other files (see ``_alias``), and names resolve lazily, so layers added later are found too."""
from ._alias import getattr_for

__getattr__ = getattr_for(__name__)
