"""torch.serialization: ``save``/``load`` checkpoints."""
from ._errors import LoadError
from ._npz import load, save

__all__ = ["LoadError", "load", "save"]
