"""The one exception type every failed ``load`` raises."""
from __future__ import annotations

import pickle


class LoadError(RuntimeError, pickle.UnpicklingError):
    """A checkpoint could not be loaded; the message names the file and the cause.

    It is both a ``RuntimeError`` (what torch raises for a damaged archive) and a
    ``pickle.UnpicklingError`` (what torch raises when ``weights_only`` refuses a global), so code
    written against either of torch's failures catches it.
    """
