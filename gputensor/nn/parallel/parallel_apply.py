"""``parallel_apply``: run each replica on its own inputs (in turn; one device, one stream)."""
from __future__ import annotations

from typing import Any, Sequence


def parallel_apply(modules: Sequence, inputs: Sequence[Any], kwargs_tup=None,
                   devices=None) -> list:
    """``[modules[i](*inputs[i], **kwargs_tup[i])]``; torch's length checks."""
    if len(modules) != len(inputs):
        raise AssertionError(f"The number of modules {len(modules)} is not equal to the number "
                             f"of inputs {len(inputs)}")
    if kwargs_tup is None:
        kwargs_tup = ({},) * len(modules)
    elif len(modules) != len(kwargs_tup):
        raise AssertionError(f"The number of modules {len(modules)} is not equal to the number "
                             f"of kwargs {len(kwargs_tup)}")
    outputs = []
    for module, inp, kw in zip(modules, inputs, kwargs_tup):
        if not isinstance(inp, (list, tuple)):
            inp = (inp,)
        outputs.append(module(*inp, **kw))
    return outputs
