"""The globals a ``weights_only`` load may name, and torch's messages when one is refused.

torch 2.13's ``weights_only=True`` admits a fixed list of globals (``_get_allowed_globals``). Each
torch name on that list maps here to gputensor's own implementation
(``torch._utils._rebuild_tensor_v2`` -> a validating rebuild, ``torch.float32`` ->
``gputensor.float32`` ...); names torch admits but gputensor cannot represent (bfloat16,
quantized, sparse) map to refusals that name what is missing. Nothing is looked up by import, so a
name outside the table can never reach code. ``add_safe_globals`` & co. extend it as in torch.
"""
from __future__ import annotations

import _compat_pickle
import codecs
import contextlib
import pickle
from collections import Counter, OrderedDict
from typing import Any, Callable, Iterator

from .. import _dtype as dt
from .._layout import strided, sparse_coo
from ..nn.parameter import Parameter
from ..tensor import Tensor
from . import _torch_rebuild as rb
from ._torch_types import STORAGE_TO_DTYPE, TORCH_NAME_TO_DTYPE, UNSUPPORTED

BLOCKED_MODULES = ("sys", "os", "posix", "nt")

_UNSAFE = ("In PyTorch 2.6 (and in gputensor), the default value of the `weights_only` argument "
           "in `load` is `True`. Re-running `gputensor.load` with `weights_only` set to `False` "
           "will likely succeed, but it can result in arbitrary code execution. Do it only if you "
           "got the file from a trusted source.")
_DOCS = ("\n\nCheck the documentation of torch.load (gputensor.load follows it) to learn more "
         "about types accepted by default with weights_only "
         "https://pytorch.org/docs/stable/generated/torch.load.html.")


class WeightsOnlyError(pickle.UnpicklingError):
    """The restricted unpickler refused something (turned into torch's long message by ``load``)."""


# -- user allowlist (torch.serialization.add_safe_globals & co.) ------------------------------
_user: set = set()


def add_safe_globals(safe_globals: list) -> None:
    """Allow these functions/classes (or ``(obj, "module.name")`` pairs) in weights_only loads."""
    global _user
    _user = _user | set(safe_globals)


def get_safe_globals() -> list:
    """The user-added safe globals."""
    return list(_user)


def clear_safe_globals() -> None:
    """Forget every user-added safe global."""
    global _user
    _user = set()


@contextlib.contextmanager
def safe_globals(safe_globals: list) -> Iterator[None]:
    """``with safe_globals([...]):`` allows them only inside the block."""
    global _user
    add_safe_globals(safe_globals)
    try:
        yield
    finally:
        _user = _user - set(safe_globals)


def _user_table() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for g in _user:
        if isinstance(g, tuple):
            if len(g) != 2:
                raise ValueError("Expected tuple of length 2 (global, str of callable full "
                                 f"path), but got tuple of length: {len(g)}")
            if type(g[1]) is not str:
                raise TypeError("Expected second item in tuple to be str of callable full path, "
                                f"but got: {type(g[1])}")
            out[g[1]] = g[0]
        else:
            out[f"{g.__module__}.{g.__qualname__}"] = g
    return out


# -- what torch admits by default, mapped to gputensor --------------------------------------
def _bytearray(data=b"", encoding=None) -> bytearray:
    if isinstance(data, str) and encoding in ("latin1", "latin-1"):
        return bytearray(data, encoding)
    if not isinstance(data, (bytes, bytearray)) or encoding is not None:
        raise rb.Forged("bytearray() in a checkpoint must be built from bytes")
    return bytearray(data)


def _encode(obj, encoding="utf-8") -> bytes:
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8", "ascii"):
        raise rb.Forged("_codecs.encode in a checkpoint must encode a str as latin1/utf-8/ascii")
    return codecs.encode(obj, encoding)


def _collection(kind):
    def make(items=()):
        if not isinstance(items, (list, tuple, set, frozenset)):
            raise rb.Forged(f"{kind.__name__}() in a checkpoint must be built from a list")
        return kind(items)
    make.__name__ = kind.__name__
    return make


def _complex(real=0.0, imag=0.0) -> complex:
    if not all(isinstance(v, (int, float)) for v in (real, imag)):
        raise rb.Forged("complex() in a checkpoint must be built from numbers")
    return complex(real, imag)


def _unsupported_global(full: str, what: str):
    def refuse():
        raise rb.Unsupported(f"the checkpoint holds {full} ({what}), which gputensor does not "
                             "support")
    return refuse


def _build_table() -> tuple[dict[str, Any], dict[str, Callable]]:
    """(name -> object pushed by GLOBAL, name -> refusal for torch names gputensor lacks)."""
    ok: dict[str, Any] = {
        "collections.OrderedDict": OrderedDict, "collections.Counter": Counter,
        "torch.nn.parameter.Parameter": Parameter, "torch.Tensor": Tensor,
        "torch._tensor.Tensor": Tensor, "torch.Size": rb.make_size, "torch.device": rb.make_device,
        "torch.serialization._get_layout": rb.get_layout, "torch.strided": strided,
        "torch.sparse_coo": sparse_coo, "_codecs.encode": _encode, "builtins.bytearray": _bytearray,
        "builtins.set": _collection(set), "builtins.frozenset": _collection(frozenset),
        "builtins.complex": _complex,
        "torch._utils._rebuild_tensor": rb.rebuild_tensor,
        "torch._utils._rebuild_tensor_v2": rb.rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": rb.rebuild_tensor_v3,
        "torch._utils._rebuild_parameter": rb.rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": rb.rebuild_parameter_with_state,
        "torch._utils._rebuild_device_tensor_from_cpu_tensor":
            rb.rebuild_device_tensor_from_cpu_tensor,
        "torch._tensor._rebuild_from_type_v2": rb.rebuild_from_type_v2,
        "torch.storage.UntypedStorage": rb.UNTYPED, "torch.UntypedStorage": rb.UNTYPED,
        # gputensor's own pickled names (its writer emits torch's, but accept these too)
        "gputensor._dtype._by_name": dt._by_name, "gputensor._device.device": rb.make_device,
        "gputensor.nn.parameter.Parameter": Parameter, "gputensor.tensor.Tensor": Tensor,
        "gputensor.tensor.Size": rb.make_size, "gputensor._layout.strided": strided,
    }
    for name, d in TORCH_NAME_TO_DTYPE.items():
        ok[f"torch.{name}"] = d
        ok[f"gputensor.{name}"] = d
    for sname, d in STORAGE_TO_DTYPE.items():
        for prefix in ("torch", "torch.cuda"):
            ok[f"{prefix}.{sname}"] = rb.StorageType(sname, d)
    refuse: dict[str, Callable] = {}
    for key, dname in UNSUPPORTED.items():
        for prefix in ("torch", "torch.cuda"):
            refuse[f"{prefix}.{key}"] = _unsupported_global(f"{prefix}.{key}", f"dtype {dname}")
    extra = ["complex32", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
             "float4_e2m1fn_x2", "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16", "qint32",
             "quint2x4", "quint4x2", "QInt32Storage", "QUInt2x4Storage", "QUInt4x2Storage",
             *(f"uint{i}" for i in range(1, 8)), *(f"int{i}" for i in range(1, 8))]
    for name in extra:
        refuse.setdefault(f"torch.{name}", _unsupported_global(f"torch.{name}", "dtype"))
    for name in ("per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
                 "per_channel_symmetric", "per_channel_affine_float_qparams"):
        refuse[f"torch.{name}"] = _unsupported_global(f"torch.{name}", "quantization")
    for kind in ("BFloat16", "Bool", "Byte", "Char", "Double", "Float", "Half", "Int", "Long",
                 "Short"):
        for prefix in ("torch", "torch.cuda", "torch.sparse", "torch.cuda.sparse"):
            refuse[f"{prefix}.{kind}Tensor"] = _unsupported_global(
                f"{prefix}.{kind}Tensor", "a legacy tensor type")
    refuse["torch.storage.TypedStorage"] = _unsupported_global("torch.storage.TypedStorage",
                                                               "a typed storage object")
    for fn in ("qtensor", "sparse_tensor", "meta_tensor_no_storage", "nested_tensor",
               "wrapper_subclass", "device_tensor_from_numpy"):
        ok[f"torch._utils._rebuild_{fn}"] = rb.unsupported(fn.replace("_", " "))
    return ok, refuse


ALLOWED, REFUSED = _build_table()
_CALLABLE_IDS = {id(v) for v in ALLOWED.values() if callable(v) and v is not Tensor}


def _rename(module: str, name: str) -> tuple[str, str]:
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def unsupported_global_message(module: str, name: str) -> str:
    full = f"{module}.{name}"
    shown = full[len("builtins."):] if full.startswith("builtins.") else full
    return (f"Unsupported global: GLOBAL {shown} was not an allowed global by default. Please use "
            f"`gputensor.serialization.add_safe_globals([{shown}])` or the "
            f"`gputensor.serialization.safe_globals([{shown}])` context manager to allowlist "
            "this global if you trust this class/function.")


def resolve_safe(module: str, name: str, user: dict[str, Any]) -> Any:
    """What GLOBAL module.name pushes in a weights_only load, or WeightsOnlyError."""
    module, name = _rename(module, name)
    full = f"{module}.{name}"
    if module.split(".")[0] in BLOCKED_MODULES:
        raise WeightsOnlyError(f"Trying to load unsupported GLOBAL {full} whose module {module} "
                               "is blocked.")
    if full in ALLOWED:
        return ALLOWED[full]
    if full in user:
        return user[full]
    alt = "gputensor" + full[len("torch"):] if module.split(".")[0] == "torch" else None
    if alt in user:  # a torch class pickled by torch, allowlisted as gputensor's own class
        return user[alt]
    if full in REFUSED:
        REFUSED[full]()
    raise WeightsOnlyError(unsupported_global_message(module, name))


def weights_only_message(message: str, name: str) -> str:
    """torch's "Weights only load failed" text, naming the file."""
    head = f"Weights only load failed for {name}."
    if "was not an allowed global by default" in message:
        return (f"{head} This file can still be loaded, to do so you have two options, "
                "\033[1mdo those steps only if you trust the source of the checkpoint\033[0m. "
                f"\n\t(1) {_UNSAFE}\n\t(2) Alternatively, to load with `weights_only=True` please "
                "check the recommended steps in the following error message.\n\tWeightsUnpickler "
                f"error: {message}{_DOCS}")
    out = f"{head} {_UNSAFE}\n"
    if "is blocked" not in message:
        out += ("Please file an issue with the following so that we can make `weights_only=True` "
                "compatible with your use case: WeightsUnpickler error: ")
    return f"{out}\n\n{message}{_DOCS}"
