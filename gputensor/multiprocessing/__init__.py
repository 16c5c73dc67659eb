"""``gputensor.multiprocessing``: Python's ``multiprocessing`` whose queues, pipes and spawned
``Process`` arguments carry cpu tensors through shared memory, as ``torch.multiprocessing``.

Every name of ``multiprocessing`` (``Process``, ``Queue``, ``Pool``, ``get_context`` ...) is
re-exported; importing this package registers the tensor reducers (see ``reductions``).
Sharing strategies: both of torch's Linux names are accepted; tensors always travel as a
duplicated fd of an anonymous memfd (the ``file_descriptor`` way), which leaves nothing in
/dev/shm whichever is set.
"""
import multiprocessing
import sys

from multiprocessing import *  # noqa: F401,F403

from .reductions import init_reductions
from .spawn import (ProcessContext, ProcessExitedException, ProcessRaisedException, spawn,
                    start_processes)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies",
           "spawn", "start_processes", "ProcessContext", "ProcessRaisedException",
           "ProcessExitedException"] + list(multiprocessing.__all__)

if sys.platform in ("darwin", "win32"):
    _sharing_strategy = "file_system"
    _all_sharing_strategies = {"file_system"}
else:
    _sharing_strategy = "file_descriptor"
    _all_sharing_strategies = {"file_descriptor", "file_system"}


def set_sharing_strategy(new_strategy: str) -> None:
    """Set the strategy name for sharing cpu tensors (one of ``get_all_sharing_strategies()``)."""
    global _sharing_strategy
    if new_strategy not in _all_sharing_strategies:
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}, "
                             f"expected one of {_all_sharing_strategies}")
    _sharing_strategy = new_strategy


def get_sharing_strategy() -> str:
    return _sharing_strategy


def get_all_sharing_strategies() -> set:
    return _all_sharing_strategies


init_reductions()
