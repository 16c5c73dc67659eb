"""``gputensor.serialization`` (torch.serialization): ``save``/``load`` checkpoints.

``load`` reads what ``torch.save`` writes (zip and legacy formats), gputensor's earlier npz
format and safetensors, without importing torch; ``save`` writes torch's format (crash-safely),
and ``save_safetensors`` / ``load_safetensors`` handle Hugging Face's safetensors files. By default (``weights_only=True``) pickles are
interpreted by a restricted unpickler that can only rebuild tensors, containers and the globals
torch admits, so loading a stranger's file cannot run code; ``add_safe_globals`` /
``safe_globals`` extend that list as in torch.
"""
from ._errors import LoadError
from ._load import load
from ._safetensors import load_safetensors, load_safetensors_metadata, save_safetensors
from ._save import save
from ._safe_globals import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals

__all__ = ["LoadError", "load", "save", "add_safe_globals", "clear_safe_globals",
           "get_safe_globals", "safe_globals", "save_safetensors", "load_safetensors",
           "load_safetensors_metadata"]
