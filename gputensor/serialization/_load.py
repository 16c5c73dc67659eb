"""``load``: recognise a checkpoint's format from its first bytes and read it safely.

Formats: torch's zip checkpoint (``PK\\x03\\x04`` with ``<archive>/data.pkl``), gputensor's earlier
npz format (a zip with ``__manifest__.npy``), safetensors (an 8-byte little-endian header length
then ``{``) and torch's legacy pickle stream (anything else). With ``weights_only=True`` (the
default, as in torch >= 2.6) pickles go through the restricted unpickler, so nothing in the file
can run code; every failure is a ``LoadError`` naming the file and the cause, except the OS
errors of opening it (FileNotFoundError ...), which stay as they are, as in torch.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import struct
import warnings
import zipfile
from typing import Any

from ._errors import LoadError
from ._npz import _placer, is_npz_checkpoint, load_npz
from ._torch_read import is_path, load_legacy, load_zip
from ._torch_rebuild import Forged, Unsupported
from ._unpickler import WeightsUnpickler, full_unpickler
from ._safe_globals import WeightsOnlyError, weights_only_message
from ._zipcheck import Archive, file_name

_OS_ERRORS = (FileNotFoundError, IsADirectoryError, PermissionError, NotADirectoryError)
_DAMAGE = (EOFError, pickle.UnpicklingError, struct.error, zipfile.BadZipFile, UnicodeDecodeError,
           IndexError, KeyError, json.JSONDecodeError, ValueError, OverflowError)


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    try:
        from ._safetensors import looks_like_safetensors
    except ImportError:
        return len(head) >= 9 and 2 <= int.from_bytes(head[:8], "little") <= size - 8 \
            and head[8:9] == b"{"
    return looks_like_safetensors(head, size)


@contextlib.contextmanager
def _opened(f):
    if is_path(f):
        with open(f, "rb") as fh:
            yield fh
    else:
        if not hasattr(f, "read") or not hasattr(f, "seek"):
            raise TypeError(f"gputensor.load: expected a path or a seekable binary file object, "
                            f"got {type(f).__name__}")
        yield f


def load(f, map_location=None, pickle_module=None, *, weights_only: bool | None = True,
         mmap: bool | None = None, **pickle_load_args) -> Any:
    """Read a checkpoint written by ``torch.save`` (zip or legacy), ``gputensor.save``, or
    safetensors; tensors go to their saved device or to ``map_location``.

    ``weights_only=True`` (the default) admits only tensors, containers, numbers, strings and the
    globals torch admits (plus ``add_safe_globals``); ``weights_only=False`` runs the full pickle
    machinery (it can execute code: only for trusted files). ``mmap=True`` maps storages from the
    file (copy-on-write) instead of reading them; it needs a path to a zip checkpoint."""
    if weights_only is None:
        weights_only = pickle_module is None
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    if not weights_only and pickle_module is None:
        pickle_module = pickle
    if pickle_load_args and weights_only:
        warnings.warn("pickle_load_args only works if `weights_only=False`.", stacklevel=2)
    pickle_load_args.setdefault("encoding", "utf-8")
    name = file_name(f)
    place = _placer(map_location, name)
    encoding = pickle_load_args["encoding"]

    def make_safe(fh, persistent_load):
        return WeightsUnpickler(fh, persistent_load, encoding)

    def make_full(fh, persistent_load):
        return full_unpickler(pickle_module, fh, persistent_load, **pickle_load_args)

    # load_legacy tells the two apart by identity: only a trusted file gets the full unpickler
    make_unpickler = make_safe if weights_only else make_full

    with _opened(f) as fh:
        try:
            start = fh.tell()
            head = fh.read(16)
            fh.seek(0, io.SEEK_END)
            size = fh.tell() - start
            fh.seek(start)
            if head[:4] == b"PK\x03\x04":
                archive = Archive(fh, name)
                if is_npz_checkpoint(archive):
                    return load_npz(archive, place)
                if mmap and not is_path(f):
                    raise ValueError("f must be a file path in order to use the mmap argument")
                return load_zip(archive, place, make_unpickler, os.fspath(f) if mmap else None)
            if _looks_like_safetensors(head, size):
                return _safetensors(f if is_path(f) else fh, place)
            if mmap:
                f_name = f"{f}, " if isinstance(f, str) else ""
                raise LoadError("mmap can only be used with files saved with "
                                f"`torch.save({f_name}_use_new_zipfile_serialization=True), "
                                "please torch.save your checkpoint with this option in order to "
                                "use mmap.")
            if not head:
                raise EOFError("the file is empty")
            return load_legacy(fh, name, place, make_safe, make_unpickler)
        except (LoadError, *_OS_ERRORS):
            raise
        except WeightsOnlyError as e:
            raise LoadError(weights_only_message(str(e), name)) from None
        except (Forged, Unsupported) as e:
            raise LoadError(f"gputensor.load: {name}: {e}") from e
        except RecursionError as e:
            raise LoadError(f"gputensor.load: {name} nests objects too deeply to load "
                            f"(RecursionError: {e})") from e
        except MemoryError as e:
            raise LoadError(f"gputensor.load: {name} needs more memory than is available "
                            f"(MemoryError{': ' + str(e) if str(e) else ''})") from e
        except ValueError as e:
            if "mmap argument" in str(e):
                raise
            raise LoadError(f"gputensor.load: {name} is truncated or corrupted: "
                            f"{type(e).__name__}: {e}") from e
        except _DAMAGE as e:
            raise LoadError(f"gputensor.load: {name} is truncated or corrupted: "
                            f"{type(e).__name__}: {e}") from e
        except Exception as e:
            raise LoadError(f"gputensor.load: cannot load {name}: {type(e).__name__}: {e}") from e


def _safetensors(src, place) -> dict:
    from ._safetensors import load_safetensors
    if not is_path(src):
        src = src.read()
    return {k: place(t, "cpu") for k, t in load_safetensors(src, device="cpu").items()}
