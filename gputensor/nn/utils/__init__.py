"""nn.utils: gradient clipping, parameter vectors."""
from .clip_grad import clip_grad_norm_, clip_grad_value_  # noqa: F401
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401

clip_grad_norm = clip_grad_norm_
from . import rnn  # noqa: F401,E402  (pad_sequence, pack_padded_sequence, PackedSequence ...)
from . import parametrize  # noqa: F401,E402  (register_parametrization ...)
from . import parametrizations  # noqa: F401,E402
from .weight_norm import remove_weight_norm, weight_norm  # noqa: F401,E402
from .spectral_norm import remove_spectral_norm, spectral_norm  # noqa: F401,E402
