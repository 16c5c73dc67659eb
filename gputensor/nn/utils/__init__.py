"""nn.utils: gradient clipping, parameter vectors."""
from .clip_grad import clip_grad_norm_, clip_grad_value_  # noqa: F401
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401

clip_grad_norm = clip_grad_norm_
from . import rnn  # noqa: F401,E402  (pad_sequence, pack_padded_sequence, PackedSequence ...)
