"""The ``weights_only`` unpickler: reads checkpoint pickles without ever running their code.

A pickle is a program: GLOBAL names any importable callable and REDUCE calls it, so
``pickle.load`` on a stranger's file can run ``os.system``. ``WeightsUnpickler`` interprets the
opcodes itself -- the set torch 2.13's ``weights_only=True`` accepts, plus the data-only opcodes
of protocols 3-5 -- and resolves GLOBAL only through ``_safe_globals``' fixed table, so only
gputensor's own validating functions can ever be called. BUILD works only on OrderedDict (the
``_metadata`` of a state_dict), Parameters and user-allowed types; APPEND only on lists, SETITEM
only on dicts. Every read is length-checked, so a truncated pickle fails instead of guessing.

``full_unpickler`` is the ``weights_only=False`` path: the ordinary pickle machinery (it CAN run
code, which is why the caller must ask for it), with torch's names mapped to gputensor's.
"""
from __future__ import annotations

import importlib
import pickle
import struct
import warnings
from collections import Counter, OrderedDict
from typing import Any, Callable

from ..nn.parameter import Parameter
from . import _safe_globals as sg

_I4, _U4, _U2, _U8, _F8 = (struct.Struct(f) for f in ("<i", "<I", "<H", "<Q", ">d"))
_DICTS = (dict, OrderedDict, Counter)


class WeightsUnpickler:
    """``WeightsUnpickler(file, persistent_load, encoding).load()``: one pickle, safely."""

    def __init__(self, file, persistent_load: Callable[[tuple], Any], encoding: str = "utf-8"):
        self._read, self._readline = file.read, file.readline
        self._persistent_load, self.encoding = persistent_load, encoding
        self._user = sg._user_table()
        self._user_ids = {id(v) for v in self._user.values()}
        self.stack: list = []
        self.metastack: list = []
        self.memo: dict[int, Any] = {}

    def read(self, n: int) -> bytes:
        data = self._read(n)
        if len(data) != n:
            raise EOFError(f"pickle data was truncated (wanted {n} bytes, got {len(data)})")
        return data

    def _global(self, module: str, name: str):
        return sg.resolve_safe(module, name, self._user)

    def _allowed(self, obj) -> bool:
        return id(obj) in sg._CALLABLE_IDS or id(obj) in self._user_ids

    def _pop_mark(self) -> list:
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def load(self):
        self.stack, self.metastack, self.memo = [], [], {}
        read = self.read
        ops = _DISPATCH
        while True:
            key = self._read(1)
            if not key:
                raise EOFError("pickle data was truncated (no STOP opcode)")
            op = ops.get(key[0])
            if op is None:
                raise sg.WeightsOnlyError(f"Unsupported operand {key[0]}")
            if op is _stop:
                return self.stack.pop()
            op(self, read)

    # -- risky opcodes ---------------------------------------------------------------------
    def _reduce(self, read):
        args, func = self.stack.pop(), self.stack[-1]
        if not self._allowed(func):
            raise sg.WeightsOnlyError("Trying to call reduce for unrecognized function "
                                      f"{func!r:.80}")
        if not isinstance(args, tuple):
            raise sg.WeightsOnlyError("REDUCE arguments must be a tuple")
        self.stack[-1] = func(*args)

    def _newobj(self, read):
        args, cls = self.stack.pop(), self.stack.pop()
        if not isinstance(args, tuple):
            raise sg.WeightsOnlyError("NEWOBJ arguments must be a tuple")
        if cls is Parameter:
            self.stack.append(Parameter(*args))
        elif isinstance(cls, type) and id(cls) in self._user_ids:
            self.stack.append(cls.__new__(cls, *args))
        else:
            raise sg.WeightsOnlyError("Can only create new object for nn.Parameter or classes "
                                      f"allowlisted via `add_safe_globals` but got {cls!r:.80}")

    def _build(self, read):
        state, inst = self.stack.pop(), self.stack[-1]
        if type(inst) is OrderedDict:  # a state_dict's _metadata
            if not isinstance(state, dict) or not all(type(k) is str and not k.startswith("__")
                                                      for k in state):
                raise sg.WeightsOnlyError("OrderedDict state must be a dict of attribute names")
            inst.__dict__.update(state)
        elif type(inst) is Parameter:
            from ._torch_rebuild import set_state
            set_state(inst, state)
        elif id(type(inst)) in self._user_ids:
            if hasattr(inst, "__setstate__"):
                inst.__setstate__(state)
            else:
                slots = None
                if isinstance(state, tuple) and len(state) == 2:
                    state, slots = state
                if state:
                    inst.__dict__.update(state)
                for k, v in (slots or {}).items():
                    setattr(inst, k, v)
        else:
            raise sg.WeightsOnlyError("Can only build Tensor, Parameter, OrderedDict or types "
                                      f"allowlisted via `add_safe_globals`, but got {type(inst)}")

    def _persid(self, read):
        pid = self.stack.pop()
        if type(pid) is not tuple and type(pid) is not int:
            raise sg.WeightsOnlyError(f"persistent_load id must be tuple or int, but got "
                                      f"{type(pid)}")
        if type(pid) is tuple and (not pid or _ascii(pid[0]) != "storage"):
            raise sg.WeightsOnlyError("Only persistent_load of storage is allowed, but got "
                                      f"{type(pid[0]) if pid else 'an empty id'}")
        self.stack.append(self._persistent_load(pid))


def _ascii(v):
    return v.decode("ascii", "replace") if isinstance(v, bytes) else v


def _op_global(self, read):
    module = self._readline()
    name = self._readline()
    if not module.endswith(b"\n") or not name.endswith(b"\n"):
        raise EOFError("pickle data was truncated inside GLOBAL")
    self.stack.append(self._global(module[:-1].decode("utf-8"), name[:-1].decode("utf-8")))


def _op_stack_global(self, read):
    name, module = self.stack.pop(), self.stack.pop()
    if type(name) is not str or type(module) is not str:
        raise sg.WeightsOnlyError("STACK_GLOBAL requires str")
    self.stack.append(self._global(module, name))


def _push(value):
    return lambda self, read: self.stack.append(value() if callable(value) else value)


def _appends(self, read):
    items = self._pop_mark()
    if type(self.stack[-1]) is not list:
        raise sg.WeightsOnlyError(f"Can only extend lists, but got {type(self.stack[-1])}")
    self.stack[-1].extend(items)


def _append(self, read):
    item = self.stack.pop()
    if type(self.stack[-1]) is not list:
        raise sg.WeightsOnlyError(f"Can only append to lists, but got {type(self.stack[-1])}")
    self.stack[-1].append(item)


def _setitems(self, read, items=None):
    items = self._pop_mark() if items is None else items
    target = self.stack[-1]
    if type(target) not in _DICTS:
        raise sg.WeightsOnlyError("Can only SETITEM for dict, collections.OrderedDict, "
                                  f"collections.Counter, but got {type(target)}")
    if len(items) % 2:
        raise sg.WeightsOnlyError("SETITEMS needs key/value pairs")
    for i in range(0, len(items), 2):
        target[items[i]] = items[i + 1]


def _setitem(self, read):
    v, k = self.stack.pop(), self.stack.pop()
    _setitems(self, read, [k, v])


def _additems(self, read):
    items = self._pop_mark()
    if type(self.stack[-1]) is not set:
        raise sg.WeightsOnlyError("Can only ADDITEMS to sets")
    self.stack[-1].update(items)


def _mark(self, read):
    self.metastack.append(self.stack)
    self.stack = []


def _tuple_n(n):
    def op(self, read):
        if len(self.stack) < n:
            raise IndexError("pickle stack underflow")
        items = tuple(self.stack[len(self.stack) - n:])
        del self.stack[len(self.stack) - n:]
        self.stack.append(items)
    return op


def _text(size: struct.Struct | int, kind: str):
    def op(self, read):
        n = read(size)[0] if isinstance(size, int) else size.unpack(read(size.size))[0]
        data = read(n)
        if kind == "str":
            self.stack.append(str(data, "utf-8", "surrogatepass"))
        elif kind == "py2str":
            self.stack.append(data if self.encoding == "bytes" else data.decode(self.encoding))
        elif kind == "bytearray":
            self.stack.append(bytearray(data))
        else:
            self.stack.append(data)
    return op


def _long(size: int):
    def op(self, read):
        n = read(1)[0] if size == 1 else _I4.unpack(read(4))[0]
        if n < 0:
            raise pickle.UnpicklingError("LONG pickle has negative byte count")
        self.stack.append(pickle.decode_long(read(n)))
    return op


def _get(size):
    def op(self, read):
        idx = read(1)[0] if size == 1 else _U4.unpack(read(4))[0]
        if idx not in self.memo:
            raise pickle.UnpicklingError(f"memo key {idx} was never stored (forged pickle)")
        self.stack.append(self.memo[idx])
    return op


def _put(size):
    def op(self, read):
        self.memo[read(1)[0] if size == 1 else _U4.unpack(read(4))[0]] = self.stack[-1]
    return op


def _memoize(self, read):
    self.memo[len(self.memo)] = self.stack[-1]


def _proto(self, read):
    proto = read(1)[0]
    if proto != 2:
        warnings.warn(f"Detected pickle protocol {proto} in the checkpoint, which was not the "
                      "default pickle protocol used by `torch.load` (2). The weights_only "
                      "Unpickler might not support all instructions implemented by this protocol, "
                      "please file an issue for adding support if you encounter this.",
                      stacklevel=4)


def _frozenset(self, read):
    items = frozenset(self._pop_mark())  # pop first: the mark restores the outer stack
    self.stack.append(items)


def _tuple(self, read):
    items = tuple(self._pop_mark())
    self.stack.append(items)


def _stop(self, read):  # handled in load()
    pass


_O = pickle
_DISPATCH: dict[int, Callable] = {
    _O.GLOBAL[0]: _op_global, _O.STACK_GLOBAL[0]: _op_stack_global,
    _O.REDUCE[0]: WeightsUnpickler._reduce, _O.NEWOBJ[0]: WeightsUnpickler._newobj,
    _O.BUILD[0]: WeightsUnpickler._build, _O.BINPERSID[0]: WeightsUnpickler._persid,
    _O.APPEND[0]: _append, _O.APPENDS[0]: _appends, _O.SETITEM[0]: _setitem,
    _O.SETITEMS[0]: _setitems, _O.ADDITEMS[0]: _additems, _O.FROZENSET[0]: _frozenset,
    _O.MARK[0]: _mark, _O.TUPLE[0]: _tuple,
    _O.TUPLE1[0]: _tuple_n(1), _O.TUPLE2[0]: _tuple_n(2), _O.TUPLE3[0]: _tuple_n(3),
    _O.EMPTY_TUPLE[0]: _push(()), _O.EMPTY_LIST[0]: _push(list), _O.EMPTY_DICT[0]: _push(dict),
    _O.EMPTY_SET[0]: _push(set), _O.NONE[0]: _push(None), _O.NEWTRUE[0]: _push(True),
    _O.NEWFALSE[0]: _push(False),
    _O.BININT[0]: lambda self, read: self.stack.append(_I4.unpack(read(4))[0]),
    _O.BININT1[0]: lambda self, read: self.stack.append(read(1)[0]),
    _O.BININT2[0]: lambda self, read: self.stack.append(_U2.unpack(read(2))[0]),
    _O.BINFLOAT[0]: lambda self, read: self.stack.append(_F8.unpack(read(8))[0]),
    _O.LONG1[0]: _long(1), _O.LONG4[0]: _long(4),
    _O.BINUNICODE[0]: _text(_U4, "str"), _O.SHORT_BINUNICODE[0]: _text(1, "str"),
    _O.BINUNICODE8[0]: _text(_U8, "str"), _O.SHORT_BINSTRING[0]: _text(1, "py2str"),
    _O.BINSTRING[0]: _text(_I4, "py2str"), _O.BINBYTES[0]: _text(_U4, "bytes"),
    _O.SHORT_BINBYTES[0]: _text(1, "bytes"), _O.BINBYTES8[0]: _text(_U8, "bytes"),
    _O.BYTEARRAY8[0]: _text(_U8, "bytearray"),
    _O.BINGET[0]: _get(1), _O.LONG_BINGET[0]: _get(4), _O.BINPUT[0]: _put(1),
    _O.LONG_BINPUT[0]: _put(4), _O.MEMOIZE[0]: _memoize,
    _O.POP[0]: lambda self, read: self.stack.pop() if self.stack else self._pop_mark(),
    _O.POP_MARK[0]: lambda self, read: self._pop_mark(),
    _O.DUP[0]: lambda self, read: self.stack.append(self.stack[-1]),
    _O.FRAME[0]: lambda self, read: read(8), _O.PROTO[0]: _proto, _O.STOP[0]: _stop,
}


# -- weights_only=False ----------------------------------------------------------------------
_MODULE_RENAMES = {"torch.tensor": "torch._tensor"}


def _torch_to_gputensor(module: str, name: str):
    """``torch.nn.modules.linear.Linear`` -> ``gputensor.nn.modules.linear.Linear``."""
    full = f"{module}.{name}"
    if full in sg.ALLOWED:
        return sg.ALLOWED[full]
    if full in sg.REFUSED:
        sg.REFUSED[full]()
    target = "gputensor" + _MODULE_RENAMES.get(module, module)[len("torch"):]
    try:
        obj = importlib.import_module(target)
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj
    except (ImportError, AttributeError):
        raise rb_unsupported(f"{full} has no gputensor equivalent ({target}.{name})") from None


def rb_unsupported(msg: str) -> Exception:
    from ._torch_rebuild import Unsupported
    return Unsupported(msg)


def full_unpickler(pickle_module, file, persistent_load: Callable, **pickle_load_args):
    """A ``pickle_module.Unpickler`` over ``file`` whose torch globals resolve to gputensor's."""

    class Unpickler(pickle_module.Unpickler):
        def find_class(self, module, name):
            if module == "torch" or module.startswith("torch."):
                return _torch_to_gputensor(module, name)
            return super().find_class(module, name)

        def persistent_load(self, pid):
            return persistent_load(pid)

    return Unpickler(file, **pickle_load_args)
