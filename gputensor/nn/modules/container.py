"""Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict.

Entries are registered under their index (lists) or key (dicts), so ``state_dict`` keys match
torch's (``layers.0.weight``, ``params.bias``).
"""
from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator

from ...tensor import Tensor
from ..parameter import Parameter
from .module import Module, _addindent


def _index(idx, n: int, kind: str) -> int:
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range")
    return idx % n


class _ListMixin:
    """Integer-indexed storage in ``self._store`` (the Module dict holding the entries)."""

    _kind = "list"

    def _store(self) -> OrderedDict:
        raise NotImplementedError

    def _values(self) -> list:
        return list(self._store().values())

    def _renumber(self, values: list) -> None:
        store = self._store()
        store.clear()
        for i, v in enumerate(values):
            store[str(i)] = v

    def __len__(self) -> int:
        return len(self._store())

    def __iter__(self) -> Iterator:
        return iter(self._values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(self._values()[idx])
        return self._values()[_index(idx, len(self), self._kind)]

    def __delitem__(self, idx) -> None:
        values = self._values()
        if isinstance(idx, slice):
            del values[idx]
        else:
            del values[_index(idx, len(values), self._kind)]
        self._renumber(values)

    def __setitem__(self, idx: int, value) -> None:
        self._store()[str(_index(idx, len(self), self._kind))] = self._coerce(value)

    def insert(self, index: int, value) -> None:
        values = self._values()
        values.insert(index, self._coerce(value))
        self._renumber(values)

    def _coerce(self, value):
        return value

    def pop(self, idx: int = -1):
        value = self[idx]
        del self[idx]
        return value

    def append(self, value):
        self._store()[str(len(self))] = self._coerce(value)
        return self

    def extend(self, values: Iterable):
        if not isinstance(values, Iterable):
            raise TypeError(f"{type(self).__name__}.extend should be called with an iterable, "
                            f"but got {type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    def __iadd__(self, values: Iterable):
        return self.extend(values)


class Sequential(Module):
    """Modules applied in order; ``Sequential(m1, m2)`` or ``Sequential(OrderedDict(...))``."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return type(self)(OrderedDict(items[idx]))
        return items[_index(idx, len(items), "Sequential")][1]

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[_index(idx, len(self), "Sequential")]
        self.add_module(key, module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)
        for key in (keys[idx] if isinstance(idx, slice)
                    else [keys[_index(idx, len(keys), "Sequential")]]):
            del self._modules[key]
        items = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        mods = list(self._modules.values())
        if not -len(mods) <= index <= len(mods):
            raise IndexError(f"Index out of range: {index}")
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)
        return self

    def pop(self, idx: int = -1) -> Module:
        m = self[idx]
        del self[idx]
        return m

    def __add__(self, other: Sequential) -> Sequential:
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but "
                             f"{type(other)} is given.")
        return Sequential(*self, *other)

    def __iadd__(self, other: Sequential) -> Sequential:
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but "
                             f"{type(other)} is given.")
        return self.extend(list(other))

    def _check_factor(self, other) -> None:
        if not isinstance(other, int):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and {type(other)}")
        if other <= 0:
            raise ValueError(f"Non-positive multiplication factor {other} for {type(self)}")

    def __mul__(self, other: int) -> Sequential:
        """The same modules (shared, not copied) repeated ``other`` times."""
        self._check_factor(other)
        return Sequential(*(list(self) * other))

    __rmul__ = __mul__

    def __imul__(self, other: int) -> Sequential:
        self._check_factor(other)
        return self.extend(list(self) * (other - 1))

    def forward(self, input):
        for module in self:
            input = module(input)
        return input


def _repr_grouped(self) -> str:
    """torch's ModuleList repr: runs of identical children print once as ``(0-2): 3 x ...``."""
    reprs = [repr(m) for m in self]
    if not reprs:
        return self._get_name() + "()"
    lines, start = [], 0
    for i in range(1, len(reprs) + 1):
        if i == len(reprs) or reprs[i] != reprs[start]:
            label = f"({start})" if i - start == 1 else f"({start}-{i - 1}): {i - start} x"
            sep = ": " if i - start == 1 else " "
            lines.append(label + sep + _addindent(reprs[start], 2))
            start = i
    return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleList(_ListMixin, Module):
    """A list of modules, each registered (so their parameters are the list's parameters)."""

    _kind = "ModuleList"

    def __init__(self, modules: Iterable[Module] | None = None):
        Module.__init__(self)
        if modules is not None:
            self.extend(modules)

    def _store(self):
        return self._modules

    def _coerce(self, value):
        if not isinstance(value, Module):
            raise TypeError(f"ModuleList can only hold Modules, got {type(value).__name__}")
        return value

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList(list(self) + list(other))

    __repr__ = _repr_grouped

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList is a container; iterate over it in your forward")


class ParameterList(_ListMixin, Module):
    """A list of Parameters (plain tensors appended are wrapped as Parameters, as in torch)."""

    _kind = "ParameterList"

    def __init__(self, values: Iterable | None = None):
        Module.__init__(self)
        if values is not None:
            self.extend(values)

    def _store(self):
        return self._parameters

    def _coerce(self, value):
        if isinstance(value, Tensor) and not isinstance(value, Parameter):
            value = Parameter(value)
        if not isinstance(value, Parameter):
            raise TypeError(f"ParameterList can only hold Tensors/Parameters, got "
                            f"{type(value).__name__}")
        return value

    def extra_repr(self) -> str:
        return "\n".join(f"({k}): {_param_summary(p)}" for k, p in self._parameters.items())

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterList is a container, not a layer")


def _param_summary(p: Parameter) -> str:
    size = "x".join(str(s) for s in p.shape)
    dev = f" (GPU {p.device.index or 0})" if p.is_cuda else ""
    return f"Parameter containing: [gputensor.{p.dtype.name} of size {size}{dev}]"


class _DictMixin:
    """Mapping API over ``self._store()``."""

    def _store(self) -> OrderedDict:
        raise NotImplementedError

    def __getitem__(self, key: str):
        return self._store()[key]

    def __delitem__(self, key: str) -> None:
        del self._store()[key]

    def __len__(self) -> int:
        return len(self._store())

    def __iter__(self) -> Iterator[str]:
        return iter(self._store())

    def __contains__(self, key: str) -> bool:
        return key in self._store()

    def keys(self):
        return self._store().keys()

    def items(self):
        return self._store().items()

    def values(self):
        return self._store().values()

    def clear(self) -> None:
        self._store().clear()

    def pop(self, key: str):
        value = self[key]
        del self[key]
        return value

    def update(self, entries) -> None:
        name = type(self).__name__
        if not isinstance(entries, Iterable):
            raise TypeError(f"{name}.update should be called with an iterable of key/value "
                            f"pairs, but got {type(entries).__name__}")
        if hasattr(entries, "items"):
            for key, value in entries.items():
                self[key] = value
            return
        for j, pair in enumerate(entries):
            if not isinstance(pair, Iterable):
                raise TypeError(f"{name} update sequence element #{j} should be Iterable; is"
                                f"{type(pair).__name__}")
            if len(pair) != 2:
                raise ValueError(f"{name} update sequence element #{j} has length {len(pair)}; "
                                 "2 is required")
            self[pair[0]] = pair[1]


class ModuleDict(_DictMixin, Module):
    """Modules by string key, each registered under its key."""

    def __init__(self, modules=None):
        Module.__init__(self)
        if modules is not None:
            self.update(modules)

    def _store(self):
        return self._modules

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict is a container; index it in your forward")


class ParameterDict(_DictMixin, Module):
    """Parameters by string key (plain tensors are wrapped as Parameters)."""

    def __init__(self, parameters=None):
        Module.__init__(self)
        if parameters is not None:
            self.update(parameters)

    def _store(self):
        return self._parameters

    def __setitem__(self, key: str, value) -> None:
        if isinstance(value, Tensor) and not isinstance(value, Parameter):
            value = Parameter(value)
        self.register_parameter(key, value)

    def extra_repr(self) -> str:
        return "\n".join(f"({k}): {_param_summary(p)}" for k, p in self._parameters.items())

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterDict is a container, not a layer")


__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential"]

from ._alias import getattr_for as _getattr_for  # noqa: E402
__getattr__ = _getattr_for(__name__)  # torch names defined in other files (MultiheadAttention)
