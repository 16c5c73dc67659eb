"""Parameter: a leaf Tensor that Modules register as trainable."""
from __future__ import annotations


class Parameter:  # placeholder, replaced by the nn work
    pass
