"""``save``: torch's checkpoint formats, so ``torch.load`` reads what gputensor writes."""
from __future__ import annotations

import functools
import os
import pickle
from typing import IO, Any

from ._torch_write import save_torch, save_torch_legacy


def save(obj: Any, f: str | os.PathLike | IO[bytes], pickle_module: Any = pickle,
         pickle_protocol: int = 2, _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False) -> None:
    """Write ``obj`` (tensors, state dicts, containers, or any picklable object such as a whole
    module) as ``torch.save`` does: the zip format by default, the legacy format on request.

    A path is written crash-safely: the data goes to an unnamed temp file that is linked over the
    target only when complete, so an interrupted save leaves the previous file intact and nothing
    behind. Whole objects pickle by reference to their classes; loading them needs
    ``weights_only=False``, as in torch.
    """
    if pickle_module is not None and pickle_module is not pickle:
        raise ValueError(f"gputensor.save writes with the standard pickle module; "
                         f"pickle_module={getattr(pickle_module, '__name__', pickle_module)!r} "
                         "is not supported")
    if not _use_new_zipfile_serialization:
        save_torch_legacy(obj, f, pickle_protocol)  # torch opens these with open(): its errors
        return
    try:
        save_torch(obj, f, pickle_protocol)
    except OSError as e:
        if not isinstance(f, (str, os.PathLike)) or e.filename is None:
            raise
        raise _torch_path_error(e, os.fspath(f)) from None


@functools.cache
def _both(kind: type) -> type:
    """``kind`` (what ``open`` raises) that is also the ``RuntimeError`` torch's writer raises."""
    return type(kind.__name__, (kind, RuntimeError),
                {"__module__": kind.__module__, "__str__": lambda self: self.strerror})


def _torch_path_error(e: OSError, path: str) -> OSError:
    """torch's zip writer reports a bad path as RuntimeError with its own wording; keep the
    OSError subclass too, so ``except FileNotFoundError`` and ``except RuntimeError`` both work."""
    parent = os.path.dirname(path)
    if isinstance(e, (FileNotFoundError, NotADirectoryError)) and parent and \
            not os.path.isdir(parent):
        msg = f"Parent directory {parent} does not exist."
    else:
        msg = f"open file failed with strerror: {e.strerror}"
    return _both(type(e))(e.errno, msg, e.filename)
