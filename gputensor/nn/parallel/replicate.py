"""``replicate``: a copy of a module per device, for DataParallel.

gputensor drives one accelerator, so every device list names the device the module is already
on and the module itself is its only replica (torch returns copies whose parameters are
broadcasts of the originals; with one device that broadcast is the identity).
"""
from __future__ import annotations

from .scatter_gather import _target


def replicate(network, devices, detach: bool = False) -> list:
    """``[network]`` for a single device the module lives on; more devices are not supported."""
    targets = {_target(d) for d in devices}
    if len(targets) > 1 or len(devices) > 1:
        raise NotImplementedError(f"replicate: gputensor drives a single device; got devices "
                                  f"{list(devices)}")
    return [network] * len(devices)
