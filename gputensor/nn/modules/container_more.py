"""``nn.Container``: torch's deprecated module that adds its keyword arguments as children."""
from __future__ import annotations

import warnings

from .module import Module


class Container(Module):
    def __init__(self, **kwargs) -> None:
        super().__init__()
        warnings.warn("`nn.Container` is deprecated. All of its functionality is now implemented "
                      "in `nn.Module`. Subclass that instead.", FutureWarning, stacklevel=2)
        for key, value in kwargs.items():
            self.add_module(key, value)


__all__ = ["Container"]
