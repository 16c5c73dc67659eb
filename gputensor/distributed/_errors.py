"""torch.distributed's exception types (same hierarchy: all are RuntimeError)."""
from __future__ import annotations


class DistError(RuntimeError):
    """Base of the distributed errors, as ``torch.distributed.DistError``."""


class DistBackendError(DistError):
    """A communication backend failed: timeout, dead peer, transport error."""


class DistNetworkError(DistError):
    """Network-level failure (kept for torch-compatible ``except`` clauses)."""


class DistStoreError(DistError):
    """Rendezvous store failure (kept for torch-compatible ``except`` clauses)."""


NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                   "init_process_group.")
