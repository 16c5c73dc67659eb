"""``Module``'s state_dict machinery: ``state_dict``, ``load_state_dict`` (strict/assign, lazy
placeholders materialized from the checkpoint) and the ``_IncompatibleKeys`` result.

A mixin that ``Module`` inherits; it relies only on Module's ``_parameters``/``_buffers``/
``_modules`` stores, ``_non_persistent_buffers_set`` and ``named_modules``."""
from __future__ import annotations

from collections import OrderedDict, namedtuple

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..parameter import Parameter


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class _StateDict:
    """Mixin of ``Module``: saving and loading parameters and persistent buffers."""

    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name (detached, sharing storage)."""
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        return destination

    def share_memory(self):
        """Move parameters, their grads and buffers into shared memory (``Tensor.share_memory_``)
        so processes given this module (Hogwild) update the same tensors."""
        return self._apply(lambda t: t.share_memory_())

    def _own_state(self) -> dict:
        """Every loadable slot: dotted name -> (owning module, store name, local name)."""
        slots = {}
        for mod_prefix, module in self.named_modules(remove_duplicate=False):
            pre = mod_prefix + ("." if mod_prefix else "")
            for name, p in module._parameters.items():
                if p is not None:
                    slots[pre + name] = (module, "_parameters", name)
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent_buffers_set:
                    slots[pre + name] = (module, "_buffers", name)
        return slots

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy ``state_dict`` values into this module's parameters and buffers, in place.

        Shape mismatches are always errors; with ``strict``, so are missing/unexpected keys.
        All problems are reported together in one RuntimeError naming the keys.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        slots = self._own_state()
        missing = [k for k in slots if k not in state_dict]
        unexpected = [k for k in state_dict if k not in slots]
        errors = []
        with no_grad():
            for key, value in state_dict.items():
                if key not in slots:
                    continue
                module, store, name = slots[key]
                current = module.__dict__[store][name]
                if hasattr(current, "materialize") and isinstance(value, Tensor) \
                        and not hasattr(value, "materialize"):  # a lazy module's placeholder
                    current.materialize(tuple(value.shape))
                if not isinstance(value, Tensor):
                    errors.append(f'While copying the parameter named "{key}", expected torch.'
                                  f'Tensor or Tensor-like object from checkpoint but received '
                                  f'{type(value)}')
                elif tuple(value.shape) != tuple(current.shape):
                    errors.append(f"size mismatch for {key}: copying a param with shape "
                                  f"{value.shape} from checkpoint, the shape in current model is "
                                  f"{current.shape}.")
                elif assign:
                    new = value.to(current.device)
                    if store == "_parameters":
                        new = Parameter(new.detach(), current.requires_grad)
                    module.__dict__[store][name] = new
                else:
                    current._assign(value.to(device=current.device, dtype=current.dtype))
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        return _IncompatibleKeys(missing, unexpected)
